import type { Lsn } from '../../util/lsn.js';
import { type BinlogQuery, binlogEnd, listBinlogFiles } from './binlog-files.js';
import { binlogFileName, decodeBinlogPosition, parseBinlogFileName } from './binlog-position.js';

/** Where the MES binlog is, and where a checkpoint stands in it (for `status`). */
export interface BinlogStatus {
  /** The server's current position: its newest file and that file's end. */
  readonly current: { readonly file: string; readonly position: number; readonly lsn: Lsn };
  /** The server's last GTID per replication domain (`@@gtid_binlog_pos`). */
  readonly gtid: string;
  /** The oldest binlog file the server still holds: a checkpoint before it cannot resume. */
  readonly oldestFile: string;
  readonly checkpoint?: CheckpointStanding;
}

export interface CheckpointStanding {
  readonly file: string;
  readonly position: number;
  /** The checkpoint's file is gone: the return path needs a new backfill. */
  readonly purged: boolean;
  /** Binlog bytes the server holds before the checkpoint: how much may be purged before it is lost. */
  readonly bytesAfterOldest: number;
  /** Files from the oldest held to the checkpoint's (0: the checkpoint is in the oldest file). */
  readonly filesAfterOldest: number;
  /** Binlog bytes written after the checkpoint: how far the return path is behind. */
  readonly bytesBehind: number;
}

export async function readBinlogStatus(
  connection: BinlogQuery,
  checkpoint?: Lsn,
): Promise<BinlogStatus> {
  const files = await listBinlogFiles(connection);
  const [gtidRows] = await connection.query('SELECT @@gtid_binlog_pos AS gtid');
  const lsn = binlogEnd(files);
  const newest = files.at(-1);
  const oldest = files[0];
  const status: BinlogStatus = {
    current: { file: newest?.name ?? '', position: newest?.size ?? 0, lsn },
    gtid: String((gtidRows as { gtid: string | null }[])[0]?.gtid ?? ''),
    oldestFile: oldest?.name ?? '',
  };
  if (checkpoint === undefined || checkpoint === 0n || !oldest) return status;
  const at = decodeBinlogPosition(checkpoint);
  const base = parseBinlogFileName(oldest.name)?.base ?? '';
  const before = files.filter((file) => file.index < at.fileIndex);
  const after = files.filter((file) => file.index > at.fileIndex);
  const purged = at.fileIndex < oldest.index;
  const held = files.find((file) => file.index === at.fileIndex);
  return {
    ...status,
    checkpoint: {
      file: held?.name ?? binlogFileName(base, at.fileIndex),
      position: at.offset,
      purged,
      bytesAfterOldest: purged ? 0 : before.reduce((sum, file) => sum + file.size, 0) + at.offset,
      filesAfterOldest: Math.max(0, at.fileIndex - oldest.index),
      bytesBehind:
        (held ? Math.max(0, held.size - at.offset) : 0) +
        after.reduce((sum, file) => sum + file.size, 0),
    },
  };
}
