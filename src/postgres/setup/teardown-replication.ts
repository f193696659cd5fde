import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { quotePgIdent } from '../pg-client.js';
import { readSlot, type SlotFacts } from '../slot-facts.js';
import { sqlState } from '../sql-client.js';
import { wrapPrivilegeError } from './privilege-error.js';
import { type PublicationState, readPublication } from './publication-state.js';

/**
 * What `teardown` does on the CRM: drop the slot and the publication `setup` made, so the CRM
 * stops keeping WAL for millrace.
 */

export interface TeardownPlan {
  readonly slot: SlotFacts | undefined;
  readonly publication: PublicationState | undefined;
}

/** What `teardown` would drop, read without changing anything. */
export async function planTeardown(
  client: PgClient,
  names: { readonly slot: string; readonly publication: string },
): Promise<TeardownPlan> {
  return {
    slot: await readSlot(client, names.slot),
    publication: await readPublication(client, names.publication),
  };
}

function slotInUse(slot: string, pid: number | null, cause?: unknown): RuntimeFailure {
  return new RuntimeFailure(
    'SLOT_IN_USE',
    `replication slot ${slot} is in use by PID ${pid ?? 'unknown'} (a running millrace run?): ` +
      `stop it first${pid === null ? '' : `, or SELECT pg_terminate_backend(${pid})`}, then run teardown again`,
    { context: { slot, pid }, ...(cause === undefined ? {} : { cause }) },
  );
}

/**
 * Drops the slot; false when there was none. An active slot fails with SLOT_IN_USE naming the
 * walsender's PID. A slot of that name in another database is not ours and is refused.
 */
export async function dropSlot(client: PgClient, slot: string): Promise<boolean> {
  const existing = await readSlot(client, slot);
  if (existing === undefined) return false;
  if (!existing.inThisDatabase && existing.database !== null) {
    throw new RuntimeFailure(
      'SLOT_CONFLICT',
      `replication slot ${slot} belongs to database ${existing.database}, not the one --source names: ` +
        'not dropped; point --source at that database to drop it',
      { context: { slot, database: existing.database } },
    );
  }
  if (existing.active) throw slotInUse(slot, existing.activePid);
  try {
    await client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    return true;
  } catch (error) {
    if (sqlState(error) === '42704') return false; // dropped meanwhile
    if (sqlState(error) === '55006') {
      // Became active between the check and the drop.
      const now = await readSlot(client, slot);
      throw slotInUse(slot, now?.activePid ?? null, error);
    }
    throw wrapPrivilegeError(error, `cannot drop replication slot ${slot}`);
  }
}

/** Drops the publication; false when there was none. */
export async function dropPublication(client: PgClient, publication: string): Promise<boolean> {
  const existing = await readPublication(client, publication);
  if (existing === undefined) return false;
  try {
    await client.query(`DROP PUBLICATION IF EXISTS ${quotePgIdent(publication)}`);
    return true;
  } catch (error) {
    throw wrapPrivilegeError(error, `cannot drop publication ${publication}`);
  }
}

interface TeardownResult {
  readonly slotDropped: boolean;
  readonly publicationDropped: boolean;
}

/** Drops the slot first (it fails when in use, leaving the publication for the running replicator), then the publication. */
export async function teardownReplication(
  client: PgClient,
  names: { readonly slot: string; readonly publication: string },
): Promise<TeardownResult> {
  const slotDropped = await dropSlot(client, names.slot);
  const publicationDropped = await dropPublication(client, names.publication);
  return { slotDropped, publicationDropped };
}
