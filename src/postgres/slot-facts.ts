import type { PgClient } from './pg-client.js';
import { pgBool } from './sql-client.js';

/** A replication slot as pg_replication_slots shows it. */
export interface SlotFacts {
  readonly name: string;
  readonly plugin: string | null;
  readonly slotType: string;
  readonly database: string | null;
  /** Whether the slot belongs to the database --source names (a slot elsewhere is not this CRM's). */
  readonly inThisDatabase: boolean;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
  readonly restartLsn: string | null;
  /** reserved, extended, unreserved or lost (lost: invalidated by max_slot_wal_keep_size). */
  readonly walStatus: string | null;
}

/** The pg_replication_slots columns behind `SlotFacts`, from `s`, as `SlotRow` names them. */
export const slotColumns = `s.plugin, s.slot_type, s.database, s.active, s.active_pid,
            s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.restart_lsn::text AS restart_lsn,
            s.wal_status, coalesce(s.database = current_database(), false) AS in_this_database`;

export interface SlotRow {
  plugin: string | null;
  slot_type: string;
  database: string | null;
  active: unknown;
  active_pid: number | string | null;
  confirmed_flush_lsn: string | null;
  restart_lsn: string | null;
  wal_status: string | null;
  in_this_database: unknown;
}

export function toSlotFacts(name: string, row: SlotRow): SlotFacts {
  return {
    name,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    inThisDatabase: pgBool(row.in_this_database),
    active: pgBool(row.active),
    activePid: row.active_pid === null ? null : Number(row.active_pid),
    confirmedFlushLsn: row.confirmed_flush_lsn,
    restartLsn: row.restart_lsn,
    walStatus: row.wal_status,
  };
}

/** The slot as pg_replication_slots shows it, or undefined when there is none of that name. */
export async function readSlot(client: PgClient, slot: string): Promise<SlotFacts | undefined> {
  const result = await client.query(
    `SELECT ${slotColumns} FROM pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  const row = result.rows[0] as SlotRow | undefined;
  return row === undefined ? undefined : toSlotFacts(slot, row);
}
