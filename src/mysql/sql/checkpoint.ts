import { sqlLiteral } from './literal.js';
import type { Statement } from './quote.js';

/**
 * The one place that knows how the checkpoint is stored: the replicator writes it, and the
 * replicator (where to resume), `status` (lag) and the audit (what is applied) read it.
 */

/** Records the commit end LSN of the last applied source transaction for a slot. */
export function writeCheckpoint(slot: string, lsn: bigint, lsnText: string): Statement {
  return {
    sql:
      `INSERT INTO millrace_checkpoints (slot_name, lsn, lsn_text, updated_at) VALUES (${sqlLiteral(slot)}, ${lsn}, ${sqlLiteral(lsnText)}, UTC_TIMESTAMP(6)) ` +
      'ON DUPLICATE KEY UPDATE lsn = VALUES(lsn), lsn_text = VALUES(lsn_text), updated_at = VALUES(updated_at)',
    values: [],
  };
}

/** A row of `readCheckpoint`, in column order (`lsn` first, for callers reading rows as arrays). */
export interface CheckpointRow {
  /** The LSN as a decimal string: a BIGINT UNSIGNED does not fit a JS number. */
  readonly lsn: string;
  readonly lsn_text: string;
  /** UTC, `YYYY-MM-DD hh:mm:ss.ffffff`. */
  readonly updated_at: string;
  /** Microseconds since `updated_at`, by the MES's own clock. */
  readonly age_us: string | number;
}

/** The slot's checkpoint row; none when nothing was applied yet. */
export function readCheckpoint(slot: string): Statement {
  return {
    // The age is computed by the MES itself, so a skewed clock on the reading host cannot distort it.
    sql:
      'SELECT CAST(lsn AS CHAR) AS lsn, lsn_text, updated_at, ' +
      'TIMESTAMPDIFF(MICROSECOND, updated_at, UTC_TIMESTAMP(6)) AS age_us ' +
      'FROM millrace_checkpoints WHERE slot_name = ?',
    values: [slot],
  };
}
