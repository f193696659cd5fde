import { sqlState } from '../../errors/classify-error.js';
import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { rowsOf } from '../sql-client.js';
import { type CrmCheckpointRow, readCheckpoint } from './sql/checkpoint.js';

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

/** The stream's checkpoint on the CRM: where the return path resumes. */
export async function loadCrmCheckpoint(client: PgClient, stream: string): Promise<CrmCheckpoint> {
  const statement = readCheckpoint(stream);
  const rows = await rowsOf<CrmCheckpointRow>(client, statement.text, statement.values).catch(
    (error: unknown) => {
      if (missingStates.has(sqlState(error) ?? '')) {
        throw new RuntimeFailure(
          'CONTROL_TABLES_MISSING',
          'the CRM has no millrace control tables; run `millrace migrate` with a migrations/crm/ directory first',
          { cause: error },
        );
      }
      throw error;
    },
  );
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
