import { ConfigError } from '../../errors/millrace-error.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import type { PgClient } from '../pg-client.js';
import { readSlot } from '../slot-facts.js';
import type { TableName } from '../table-name.js';
import { ensurePublication, type PublicationResult } from './ensure-publication.js';
import { checkUsableSlot, ensureSlot, type SlotResult } from './ensure-slot.js';
import { ensureFullIdentity, type FullIdentityResult } from './full-identity.js';
import { checkPrivileges, type RoleFacts } from './privileges.js';
import { planPublication } from './publication-plan.js';
import { readPublication } from './publication-state.js';
import { checkReplicaIdentity } from './replica-identity.js';
import { describeSourceTables, type SourceRelation } from './source-relations.js';
import { checkWalLevel } from './wal-level.js';

/**
 * What `setup` does on the CRM: check that logical replication can work, then create the
 * publication and the pgoutput slot. Every step is idempotent, so `setup` can run on every deploy.
 */

interface SetupOptions {
  readonly client: PgClient;
  readonly publication: string;
  readonly slot: string;
  /** The source tables of every mapping (duplicates allowed). */
  readonly tables: readonly TableName[];
  /** The mappings, to find the tables that need REPLICA IDENTITY FULL (none when absent). */
  readonly mappings?: readonly MappingSpec[];
}

export interface SetupReport {
  readonly role: RoleFacts;
  readonly relations: readonly SourceRelation[];
  readonly publication: PublicationResult;
  readonly slot: SlotResult;
  /** Mapped tables that need REPLICA IDENTITY FULL (unchanged TOAST under a filter). */
  readonly identities: readonly FullIdentityResult[];
}

/**
 * The whole of `setup`, in the order that fails before changing anything: wal_level, the mapped
 * tables, privileges, replica identities, an existing slot's fitness; then REPLICA IDENTITY FULL
 * where a mapping needs it, the publication, then the slot.
 */
export async function setupReplication(options: SetupOptions): Promise<SetupReport> {
  const { client } = options;
  if (options.tables.length === 0) {
    throw new ConfigError(
      'NO_MAPPINGS',
      'no mappings to set up replication for: add a mapping YAML file under --mappings / MILLRACE_MAPPINGS',
    );
  }
  await checkWalLevel(client);
  const relations = await describeSourceTables(client, options.tables);
  const plan = planPublication(await readPublication(client, options.publication), relations);
  const role = await checkPrivileges(client, relations, plan, options.publication);
  checkReplicaIdentity(relations);
  const existingSlot = await readSlot(client, options.slot);
  if (existingSlot !== undefined) checkUsableSlot(existingSlot);
  const identities = await ensureFullIdentity(client, options.mappings ?? [], relations);
  const publication = await ensurePublication(client, options.publication, relations);
  const slot = await ensureSlot(client, options.slot);
  return { role, relations, publication, slot, identities };
}
