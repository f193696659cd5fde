import { describeError, RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { readSlot, type SlotFacts } from '../slot-facts.js';
import { rowsOf, sqlState } from '../sql-client.js';
import { wrapPrivilegeError } from './privilege-error.js';

export interface SlotResult {
  readonly name: string;
  readonly created: boolean;
  /** Where decoding starts: the new slot's consistent point, or the existing slot's confirmed position. */
  readonly lsn: string | null;
}

/**
 * Fails when a slot of this name exists but is not ours to use: another plugin, a physical slot,
 * another database, or invalidated because the server removed WAL it needed.
 */
export function checkUsableSlot(slot: SlotFacts): void {
  const dropFix = `drop it (SELECT pg_drop_replication_slot('${slot.name}')) or choose another --slot / MILLRACE_SLOT`;
  if (slot.slotType !== 'logical' || slot.plugin !== 'pgoutput') {
    throw new RuntimeFailure(
      'SLOT_CONFLICT',
      `replication slot ${slot.name} exists as a ${slot.slotType} slot with plugin ${slot.plugin ?? 'none'}, ` +
        `millrace needs a logical slot with pgoutput: ${dropFix}`,
      { context: { slot: slot.name, plugin: slot.plugin, slotType: slot.slotType } },
    );
  }
  if (!slot.inThisDatabase) {
    throw new RuntimeFailure(
      'SLOT_CONFLICT',
      `replication slot ${slot.name} belongs to database ${slot.database}, not the one --source names: ` +
        'choose another --slot / MILLRACE_SLOT, or point --source at that database',
      { context: { slot: slot.name, database: slot.database } },
    );
  }
  if (slot.walStatus === 'lost') {
    throw new RuntimeFailure(
      'SLOT_LOST',
      `replication slot ${slot.name} was invalidated: the server removed WAL it still needed ` +
        '(max_slot_wal_keep_size); run millrace teardown --yes, millrace setup, then millrace backfill --restart',
      { context: { slot: slot.name } },
    );
  }
}

/** An existing slot, checked and kept as it is. */
function keptSlot(existing: SlotFacts): SlotResult {
  checkUsableSlot(existing);
  return { name: existing.name, created: false, lsn: existing.confirmedFlushLsn };
}

/** Creates the pgoutput slot when missing; an existing one is checked and kept. */
export async function ensureSlot(client: PgClient, slot: string): Promise<SlotResult> {
  const existing = await readSlot(client, slot);
  if (existing !== undefined) return keptSlot(existing);
  try {
    // Outside any transaction: PostgreSQL refuses to create a logical slot in one that wrote.
    const [row] = await rowsOf<{ lsn: string }>(
      client,
      "SELECT lsn::text AS lsn FROM pg_create_logical_replication_slot($1, 'pgoutput')",
      [slot],
    );
    return { name: slot, created: true, lsn: row?.lsn ?? null };
  } catch (error) {
    if (sqlState(error) === '42710') {
      // A concurrent setup created it first: the same outcome, if it is what we would have made.
      const raced = await readSlot(client, slot);
      if (raced !== undefined) return keptSlot(raced);
    }
    if (sqlState(error) === '53400') {
      throw new RuntimeFailure(
        'SLOT_LIMIT',
        `cannot create replication slot ${slot}: ${describeError(error)} (raise max_replication_slots and restart, or drop unused slots)`,
        { cause: error },
      );
    }
    throw wrapPrivilegeError(error, `cannot create replication slot ${slot}`);
  }
}
