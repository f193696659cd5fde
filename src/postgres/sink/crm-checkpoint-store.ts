import { sqlState } from '../../errors/classify-error.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { rowsOf } from '../sql-client.js';
import {
  type BinlogPlace,
  type CrmCheckpointRow,
  insertStartCheckpoint,
  readCheckpoint,
} from './sql/checkpoint.js';
import type { PgStatement } from './sql/statement.js';

/** A return-path stream's checkpoint on the CRM. */
export interface CrmCheckpoint {
  /** Encoded position where the stream resumes; 0n when nothing was applied yet. */
  readonly lsn: bigint;
  /** The binlog file and offset `lsn` encodes, and the GTID there; null before the first commit. */
  readonly binlogFile: string | null;
  readonly binlogPosition: bigint | null;
  readonly gtid: string | null;
  /** ISO 8601, UTC; null before the first commit. */
  readonly updatedAt: string | null;
  /** Seconds since it was written, by the CRM's clock; null before the first commit. */
  readonly ageSeconds: number | null;
}

const nothingApplied: CrmCheckpoint = Object.freeze({
  lsn: 0n,
  binlogFile: null,
  binlogPosition: null,
  gtid: null,
  updatedAt: null,
  ageSeconds: null,
});

/** undefined_table, invalid_schema_name: `millrace migrate` did not create the tables yet. */
const missingStates = new Set(['42P01', '3F000']);

/** A statement's rows, or CONTROL_TABLES_MISSING when `millrace migrate` has not run. */
function controlRows<R>(client: PgClient, statement: PgStatement): Promise<R[]> {
  return rowsOf<R>(client, statement.text, statement.values).catch((error: unknown) => {
    if (missingStates.has(sqlState(error) ?? '')) {
      throw new RuntimeFailure(
        'CONTROL_TABLES_MISSING',
        'the CRM has no millrace control tables; run `millrace migrate` with a migrations/crm/ directory first',
        { cause: error },
      );
    }
    throw error;
  });
}

/**
 * Gives a stream with no checkpoint one at `lsn` (the MES binlog's end, at setup); true when
 * recorded, false when the stream had one already.
 */
export async function recordStartCheckpoint(
  client: PgClient,
  stream: string,
  lsn: bigint,
  place: BinlogPlace,
): Promise<boolean> {
  const inserted = await controlRows(client, insertStartCheckpoint(stream, lsn, place));
  return inserted.length > 0;
}

/** The stream's checkpoint on the CRM: where the return path resumes. */
export async function loadCrmCheckpoint(client: PgClient, stream: string): Promise<CrmCheckpoint> {
  const rows = await controlRows<CrmCheckpointRow>(client, readCheckpoint(stream));
  const row = rows[0];
  if (row === undefined) return nothingApplied;
  return Object.freeze({
    lsn: BigInt(row.lsn),
    binlogFile: row.binlog_file,
    binlogPosition: row.binlog_position === null ? null : BigInt(row.binlog_position),
    gtid: row.gtid,
    updatedAt: row.updated_at,
    ageSeconds: Math.max(0, Number(row.age_seconds)),
  });
}
