import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { Lsn } from '../../util/lsn.js';
import type { MysqlConnection } from '../mysql-client.js';
import { encodeBinlogPosition, parseBinlogFileName } from './binlog-position.js';

/** A consistent read of the MES and the binlog position it is consistent with. */
export interface BinlogSnapshot {
  /** Encoded like the return stream's checkpoint: every change at or below it is in the read. */
  readonly lsn: Lsn;
  /** The binlog file's name, e.g. `mariadb-bin.000042`. */
  readonly file: string;
  readonly base: string;
}

/**
 * Opens a consistent snapshot on `connection` and answers the binlog position it corresponds to
 * (MariaDB's `binlog_snapshot_file` / `_position`, taken with the snapshot under one lock). Reads
 * on the connection see that state until `endBinlogSnapshot`.
 */
export async function startBinlogSnapshot(connection: MysqlConnection): Promise<BinlogSnapshot> {
  // The snapshot holds across statements only under REPEATABLE READ; a session may default lower.
  await connection.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  await connection.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  const [rows] = await connection.query("SHOW STATUS LIKE 'binlog_snapshot_%'");
  const status = new Map(
    (rows as { Variable_name: string; Value: string }[]).map((row) => [
      row.Variable_name.toLowerCase(),
      String(row.Value),
    ]),
  );
  const file = status.get('binlog_snapshot_file') ?? '';
  const offset = Number(status.get('binlog_snapshot_position'));
  const parsed = parseBinlogFileName(file);
  if (!parsed || !Number.isSafeInteger(offset)) {
    await endBinlogSnapshot(connection);
    throw new RuntimeFailure(
      'BINLOG_SETUP',
      'the MES reports no binlog snapshot position (binlog_snapshot_file): the return path needs MariaDB with its binary log on',
    );
  }
  return {
    lsn: encodeBinlogPosition({ fileIndex: parsed.index, offset }),
    file,
    base: parsed.base,
  };
}

export async function endBinlogSnapshot(connection: MysqlConnection): Promise<void> {
  await connection.query('COMMIT');
}
