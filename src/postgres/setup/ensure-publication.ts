import type { PgClient } from '../pg-client.js';
import { quotePgIdent, quotePgTable } from '../pg-client.js';
import { type TableName, tableLabel } from '../table-name.js';
import { wrapPrivilegeError } from './privilege-error.js';
import { type PublicationPlan, planPublication } from './publication-plan.js';
import { readPublication } from './publication-state.js';
import type { SourceRelation } from './source-relations.js';

/** What `ensurePublication` did; tables are `schema.table` labels. */
export interface PublicationResult {
  readonly name: string;
  /** The publication did not exist and was created over every mapped table. */
  readonly created: boolean;
  /** Mapped tables added to an existing publication (empty when it was created). */
  readonly added: readonly string[];
  /** Tables whose row filter or column list was removed. */
  readonly unrestricted: readonly string[];
  /** publish_via_partition_root and the published operations were set on an existing publication. */
  readonly optionsSet: boolean;
  /** Mapped tables published now without a change (all of them, when it was just created). */
  readonly present: readonly string[];
  /** Tables the publication lists that no mapping reads, left in place. */
  readonly unmapped: readonly string[];
  /** A FOR ALL TABLES publication: it already publishes every mapped table. */
  readonly allTables: boolean;
}

const publicationOptions =
  "publish = 'insert, update, delete, truncate', publish_via_partition_root = true";

function tableList(relations: readonly TableName[]): string {
  return relations.map((relation) => quotePgTable(relation.schema, relation.table)).join(', ');
}

/** A transaction-scoped advisory lock key, so two concurrent `setup`s do not race on one publication. */
function lockKey(publication: string): string {
  return `millrace:publication:${publication}`;
}

/**
 * Creates the publication over the mapped tables, or brings an existing one up to date: adds
 * newly mapped tables, removes row filters and column lists from mapped ones, and sets
 * publish_via_partition_root (so a partitioned table publishes through its root) and every
 * operation. Tables no mapping reads are left in place. One transaction; re-reads the state
 * under a lock, so a concurrent `setup` cannot make it fail half-way.
 */
export async function ensurePublication(
  client: PgClient,
  name: string,
  relations: readonly SourceRelation[],
): Promise<PublicationResult> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(name)]);
    const state = await readPublication(client, name);
    const plan = planPublication(state, relations);
    await applyPlan(client, quotePgIdent(name), plan);
    await client.query('COMMIT');
    return {
      name,
      created: plan.create,
      added: plan.create ? [] : plan.add.map(tableLabel),
      unrestricted: plan.unrestrict.map(tableLabel),
      optionsSet: plan.setOptions,
      present: (plan.create ? plan.add : plan.present).map(tableLabel),
      unmapped: plan.unmapped.map(tableLabel),
      allTables: state?.allTables ?? false,
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw wrapPrivilegeError(error, `cannot change publication ${name}`);
  }
}

/** The DDL of a plan, inside the caller's transaction. */
async function applyPlan(client: PgClient, ident: string, plan: PublicationPlan): Promise<void> {
  if (plan.create) {
    const tables = plan.add.length > 0 ? ` FOR TABLE ${tableList(plan.add)}` : '';
    await client.query(`CREATE PUBLICATION ${ident}${tables} WITH (${publicationOptions})`);
    return;
  }
  if (plan.setOptions) await client.query(`ALTER PUBLICATION ${ident} SET (${publicationOptions})`);
  if (plan.unrestrict.length > 0) {
    await client.query(`ALTER PUBLICATION ${ident} DROP TABLE ${tableList(plan.unrestrict)}`);
  }
  const toAdd = [...plan.add, ...plan.unrestrict];
  if (toAdd.length > 0)
    await client.query(`ALTER PUBLICATION ${ident} ADD TABLE ${tableList(toAdd)}`);
}
