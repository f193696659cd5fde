import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { Lsn } from '../../util/lsn.js';
import {
  decodeBinlogPosition,
  encodeBinlogPosition,
  formatBinlogPosition,
  parseBinlogFileName,
} from './binlog-position.js';

/** Just the query the binlog checks need, so tests can answer it with a fake. */
export interface BinlogQuery {
  query(sql: string): Promise<[unknown, unknown]>;
}

export interface BinlogFile {
  readonly name: string;
  readonly index: number;
  /** Bytes written so far (the end of the newest file is the server's current position). */
  readonly size: number;
}

/** The binlog files the server still holds, oldest first (SHOW BINARY LOGS: BINLOG MONITOR). */
export async function listBinlogFiles(connection: BinlogQuery): Promise<BinlogFile[]> {
  const [rows] = await connection.query('SHOW BINARY LOGS');
  return (rows as { Log_name: string; File_size: string | number }[]).flatMap((row) => {
    const parsed = parseBinlogFileName(row.Log_name);
    return parsed ? [{ name: row.Log_name, index: parsed.index, size: Number(row.File_size) }] : [];
  });
}

/** The server's current position: the end of its newest binlog file. */
export function binlogEnd(files: readonly BinlogFile[]): Lsn {
  const newest = files.at(-1);
  if (!newest) throw new RuntimeFailure('BINLOG_MISMATCH', 'the MES has no binary log files');
  return encodeBinlogPosition({ fileIndex: newest.index, offset: newest.size });
}

/**
 * The file and offset a checkpoint resumes at, checked against the files the server holds. A
 * checkpoint in a purged file cannot resume (the changes in between are gone): the target must
 * be backfilled again. One past the server's newest position means another server or a reset
 * binlog, where resuming would skip or repeat changes.
 */
export function resumeFile(
  files: readonly BinlogFile[],
  checkpoint: Lsn,
): { readonly file: string; readonly offset: number } {
  const position = decodeBinlogPosition(checkpoint);
  const oldest = files[0];
  const base = parseBinlogFileName(oldest?.name ?? '')?.base ?? 'binlog';
  const where = formatBinlogPosition(base, position);
  const held = files.find((file) => file.index === position.fileIndex);
  if (oldest && position.fileIndex < oldest.index) {
    throw new RuntimeFailure(
      'BINLOG_PURGED',
      `the MES binlog was purged past the checkpoint (${where}; oldest kept: ${oldest.name}): the changes in between are gone, run \`millrace backfill\` for the to-crm mappings again`,
      { context: { checkpoint: where, oldest: oldest.name } },
    );
  }
  if (!held || position.offset > held.size || position.offset < 4) {
    throw new RuntimeFailure(
      'BINLOG_MISMATCH',
      `the checkpoint ${where} is not in the MES binlog (newest: ${files.at(-1)?.name ?? 'none'}): the binlog was reset or this is another server; run \`millrace backfill\` for the to-crm mappings again`,
      { context: { checkpoint: where } },
    );
  }
  return { file: held.name, offset: position.offset };
}
