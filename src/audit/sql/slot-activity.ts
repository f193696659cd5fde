import type { PgStatement } from './pg-statement.js';

/** Whether a replicator is attached to the slot, and how far it has confirmed. */
export function selectSlotActivity(slot: string): PgStatement {
  return {
    text: `SELECT active, confirmed_flush_lsn::text AS confirmed FROM pg_replication_slots
            WHERE slot_name = $1 AND database = current_database()`,
    values: [slot],
  };
}
