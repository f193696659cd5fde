import type { Statement } from './quote.js';

/** Records the commit end LSN of the last applied source transaction for a slot. */
export function writeCheckpoint(slot: string, lsn: bigint, lsnText: string): Statement {
  return {
    sql:
      'INSERT INTO millrace_checkpoints (slot_name, lsn, lsn_text, updated_at) VALUES (?, ?, ?, UTC_TIMESTAMP(6)) ' +
      'ON DUPLICATE KEY UPDATE lsn = VALUES(lsn), lsn_text = VALUES(lsn_text), updated_at = VALUES(updated_at)',
    values: [slot, lsn.toString(), lsnText],
  };
}

export function readCheckpoint(slot: string): Statement {
  return {
    sql: 'SELECT CAST(lsn AS CHAR) AS lsn, lsn_text, updated_at FROM millrace_checkpoints WHERE slot_name = ?',
    values: [slot],
  };
}
