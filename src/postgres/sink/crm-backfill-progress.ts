import { decodeSourceKey, encodeSourceKey } from '../../values/key-text.js';
import type { PgClient } from '../pg-client.js';
import { rowsOf } from '../sql-client.js';
import type { PgStatement } from './sql/statement.js';

/**
 * The one place that knows `millrace.backfill_progress` on the CRM: how far each to-crm
 * mapping's backfill got. Its row is written in the transaction of each chunk, so a killed
 * backfill resumes after exactly the chunks the CRM holds.
 */

/** The counters a committed chunk moves, as absolute values. */
export interface CrmBackfillCounters {
  readonly rowsRead: number;
  readonly rowsCopied: number;
  readonly rowsRemoved: number;
  readonly deadLetters: number;
}

export interface CrmBackfillState extends CrmBackfillCounters {
  readonly mapping: string;
  readonly status: 'running' | 'done';
  /** The MES key of the last row of the last committed chunk; null before the first. */
  readonly lastKey: readonly string[] | null;
  readonly rowsTotal: number | null;
}

interface ProgressRow {
  readonly mapping: string;
  readonly status: 'running' | 'done';
  readonly last_key: string | null;
  readonly rows_read: string;
  readonly rows_copied: string;
  readonly rows_removed: string;
  readonly dead_letters: string;
  readonly rows_total: string | null;
}

export async function readCrmBackfill(
  client: PgClient,
  mapping: string,
): Promise<CrmBackfillState | undefined> {
  const [row] = await rowsOf<ProgressRow>(
    client,
    `SELECT mapping, status, last_key, rows_read::text, rows_copied::text, rows_removed::text,
            dead_letters::text, rows_total::text
       FROM millrace.backfill_progress WHERE mapping = $1`,
    [mapping],
  );
  if (row === undefined) return undefined;
  return {
    mapping: row.mapping,
    status: row.status,
    lastKey: row.last_key === null ? null : decodeSourceKey(row.last_key),
    rowsRead: Number(row.rows_read),
    rowsCopied: Number(row.rows_copied),
    rowsRemoved: Number(row.rows_removed),
    deadLetters: Number(row.dead_letters),
    rowsTotal: row.rows_total === null ? null : Number(row.rows_total),
  };
}

/** A fresh run of the mapping's backfill: nothing copied yet. */
export function startCrmBackfill(
  mapping: string,
  rowsTotal: number | null,
  chunkSize: number,
): PgStatement {
  return {
    text: `INSERT INTO millrace.backfill_progress
             (mapping, status, last_key, rows_read, rows_copied, rows_removed, dead_letters,
              rows_total, chunk_size, snapshot, started_at, updated_at, finished_at)
           VALUES ($1, 'running', NULL, 0, 0, 0, 0, $2, $3, NULL, clock_timestamp(), clock_timestamp(), NULL)
           ON CONFLICT (mapping) DO UPDATE SET status = 'running', last_key = NULL, rows_read = 0,
             rows_copied = 0, rows_removed = 0, dead_letters = 0, rows_total = EXCLUDED.rows_total,
             chunk_size = EXCLUDED.chunk_size, snapshot = NULL, started_at = EXCLUDED.started_at,
             updated_at = EXCLUDED.updated_at, finished_at = NULL`,
    values: [mapping, rowsTotal, chunkSize],
  };
}

export interface CrmChunkProgress extends CrmBackfillCounters {
  readonly mapping: string;
  readonly lastKey: readonly string[] | null;
  /** The chunk reached the end of the table: the backfill is done. */
  readonly done: boolean;
  /** The chunk's snapshot, spelt `file:offset`. */
  readonly snapshot: string;
}

/** The progress after a chunk, written in that chunk's transaction. */
export function chunkProgress(progress: CrmChunkProgress): PgStatement {
  return {
    text: `UPDATE millrace.backfill_progress SET status = $2, last_key = $3, rows_read = $4,
             rows_copied = $5, rows_removed = $6, dead_letters = $7, snapshot = $8,
             updated_at = clock_timestamp(),
             finished_at = CASE WHEN $2 = 'done' THEN clock_timestamp() END
           WHERE mapping = $1`,
    values: [
      progress.mapping,
      progress.done ? 'done' : 'running',
      progress.lastKey === null ? null : encodeSourceKey(progress.lastKey),
      progress.rowsRead,
      progress.rowsCopied,
      progress.rowsRemoved,
      progress.deadLetters,
      progress.snapshot,
    ],
  };
}
