import { isNoSuchTable } from '../errors/classify-error.js';
import { RuntimeFailure } from '../errors/millrace-error.js';
import type { MysqlConnection } from './mysql-client.js';
import { readCheckpoint } from './sql/checkpoint.js';

export interface Checkpoint {
  /** Commit end LSN of the last applied source transaction; 0n when nothing was applied yet. */
  readonly lsn: bigint;
  readonly updatedAt: string | null;
}

/** The slot's checkpoint on the target: where replication resumes. */
export async function loadCheckpoint(
  connection: MysqlConnection,
  slot: string,
): Promise<Checkpoint> {
  const statement = readCheckpoint(slot);
  const [rows] = await connection
    .query(statement.sql, statement.values as unknown[])
    .catch((error: unknown) => {
      if (isNoSuchTable(error)) {
        throw new RuntimeFailure(
          'CONTROL_TABLES_MISSING',
          'the MES has no millrace control tables; run `millrace migrate` first',
          {
            cause: error,
          },
        );
      }
      throw error;
    });
  const row = (rows as { lsn: string; updated_at: string }[])[0];
  return row ? { lsn: BigInt(row.lsn), updatedAt: row.updated_at } : { lsn: 0n, updatedAt: null };
}
