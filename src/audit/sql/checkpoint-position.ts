import type { Statement } from '../../mysql/sql/quote.js';

/** The replicator's checkpoint for a slot, as a decimal LSN string. */
export function selectCheckpointLsn(slot: string): Statement {
  return {
    sql: 'SELECT CAST(lsn AS CHAR) AS lsn FROM millrace_checkpoints WHERE slot_name = ?',
    values: [slot],
  };
}
