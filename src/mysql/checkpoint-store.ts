import { isNoSuchTable } from '../errors/classify-error.js';
import { RuntimeFailure } from '../errors/millrace-error.js';
import type { MysqlConnection } from './mysql-client.js';
import { type CheckpointRow, readCheckpoint } from './sql/checkpoint.js';

interface Checkpoint {
  /** Commit end LSN of the last applied source transaction; 0n when nothing was applied yet. */
  readonly lsn: bigint;
  readonly updatedAt: string | null;
}

/** The checkpoint as `status` shows it. */
export interface CheckpointStatus {
  readonly lsn: bigint;
  readonly lsnText: string;
  /** ISO 8601, UTC. */
  readonly updatedAt: string;
  /** Time since the checkpoint was written, in seconds, by the MES's clock. */
  readonly ageSeconds: number;
}

async function readCheckpointRow(
  connection: MysqlConnection,
  slot: string,
): Promise<CheckpointRow | undefined> {
  const statement = readCheckpoint(slot);
  const [rows] = await connection.query(statement.sql, statement.values as unknown[]);
  return (rows as CheckpointRow[])[0];
}

/** The slot's checkpoint on the target: where replication resumes. */
export async function loadCheckpoint(
  connection: MysqlConnection,
  slot: string,
): Promise<Checkpoint> {
  const row = await readCheckpointRow(connection, slot).catch((error: unknown) => {
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
  return row ? { lsn: BigInt(row.lsn), updatedAt: row.updated_at } : { lsn: 0n, updatedAt: null };
}

/** The slot's checkpoint with its age; undefined when nothing was applied yet. */
export async function readCheckpointStatus(
  connection: MysqlConnection,
  slot: string,
): Promise<CheckpointStatus | undefined> {
  const row = await readCheckpointRow(connection, slot);
  if (row === undefined) return undefined;
  return {
    lsn: BigInt(row.lsn),
    lsnText: row.lsn_text,
    updatedAt: `${String(row.updated_at).replace(' ', 'T')}Z`,
    ageSeconds: Math.max(0, Number(row.age_us) / 1e6),
  };
}
