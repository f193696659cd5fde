import { sqlState } from '../errors/classify-error.js';
import { ConfigError, describeError, RuntimeFailure } from '../errors/millrace-error.js';
import { quotePgIdent, quotePgTable } from './pg-client.js';

/**
 * What `setup` and `teardown` do on the CRM (DESIGN.md "Command line"): check that logical
 * replication can work, then create the publication and the pgoutput slot, or drop them. Every
 * step is idempotent, so `setup` can run on every deploy.
 */

/**
 * The slice of `pg.Client` these functions use: structural, so tests can hand in a fake that
 * answers catalog queries (the wal_level check cannot be exercised on a shared server).
 */
export interface SqlClient {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

/** A source table as a mapping names it. */
export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** `schema.table`, unquoted, the way mappings and messages spell it. */
export function tableLabel(table: TableName): string {
  return `${table.schema}.${table.table}`;
}

async function rowsOf<T>(
  client: SqlClient,
  text: string,
  values?: readonly unknown[],
): Promise<T[]> {
  const result = await client.query(text, values);
  return result.rows as T[];
}

/**
 * A boolean column. millrace's clients read every value in PostgreSQL's text form (`t`/`f`, see
 * pg-client.ts), while a fake or a default-typed client may hand back real booleans.
 */
export function pgBool(value: unknown): boolean {
  return value === true || value === 't';
}

/** Keeps the first occurrence of each `schema.table`: several mappings may read one table. */
export function distinctTables(tables: readonly TableName[]): readonly TableName[] {
  const seen = new Map<string, TableName>();
  for (const table of tables) {
    const label = tableLabel(table);
    if (!seen.has(label)) seen.set(label, { schema: table.schema, table: table.table });
  }
  return [...seen.values()];
}

// ---------------------------------------------------------------------------------------------
// wal_level
// ---------------------------------------------------------------------------------------------

/** Fails (exit 3) unless the server writes logical WAL: without it no slot can decode anything. */
export async function checkWalLevel(client: SqlClient): Promise<void> {
  const [row] = await rowsOf<{ wal_level: string }>(
    client,
    "SELECT current_setting('wal_level') AS wal_level",
  );
  const level = row?.wal_level;
  if (level === 'logical') return;
  throw new RuntimeFailure(
    'WAL_LEVEL',
    `the CRM PostgreSQL runs with wal_level = ${level ?? 'unknown'}, logical replication needs logical: ` +
      'run ALTER SYSTEM SET wal_level = logical as a superuser, then restart PostgreSQL',
    { context: { walLevel: level } },
  );
}

// ---------------------------------------------------------------------------------------------
// Mapped tables as the catalogs see them
// ---------------------------------------------------------------------------------------------

/** pg_class.relreplident: d default (primary key), n nothing, f full, i index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

/** Whether UPDATE and DELETE on a relation can be published (and so are allowed at all). */
export interface IdentityFacts {
  readonly replicaIdentity: ReplicaIdentity;
  /** An immediate (non-deferrable) primary key: the only kind DEFAULT can use. */
  readonly hasPrimaryKey: boolean;
  /** An index still marked as the replica identity (gone when that index was dropped). */
  readonly hasIdentityIndex: boolean;
}

export interface SourceRelation extends IdentityFacts {
  readonly schema: string;
  readonly table: string;
  readonly oid: number;
  /** pg_class.relkind: r table, p partitioned table, v view, … */
  readonly kind: string;
  readonly isPartition: boolean;
  /** For a partitioned table: its leaf partitions, which take the actual UPDATEs and DELETEs. */
  readonly leaves: readonly (IdentityFacts & TableName)[];
  /** OIDs of the partitioned tables above it, nearest first; empty unless it is a partition. */
  readonly ancestors: readonly number[];
}

interface RelationRow {
  schema: string;
  table: string;
  oid: number | string;
  relkind: string;
  relreplident: ReplicaIdentity;
  relispartition: unknown;
  has_primary_key: unknown;
  has_identity_index: unknown;
}

const identityColumns = `
  c.relreplident,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND i.indimmediate) AS has_primary_key,
  EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid) AS has_identity_index`;

/**
 * Looks up the mapped tables in the catalogs (with their partitions and ancestors). A table that
 * does not exist, or cannot be published (a view, a foreign table), is a configuration error.
 */
export async function describeSourceTables(
  client: SqlClient,
  tables: readonly TableName[],
): Promise<readonly SourceRelation[]> {
  const wanted = distinctTables(tables);
  const rows = await rowsOf<RelationRow & { ordinal: number }>(
    client,
    `SELECT w.ordinal::int AS ordinal, n.nspname AS schema, c.relname AS table, c.oid::int8 AS oid, c.relkind,
            c.relispartition, ${identityColumns}
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema_name, table_name, ordinal)
       JOIN pg_namespace n ON n.nspname = w.schema_name
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.table_name`,
    [wanted.map((t) => t.schema), wanted.map((t) => t.table)],
  );
  const found = new Map(rows.map((row) => [Number(row.ordinal) - 1, row]));
  const missing = wanted.filter((_, index) => !found.has(index));
  if (missing.length > 0) {
    throw new ConfigError(
      'SOURCE_TABLE_MISSING',
      `mapped source table${missing.length > 1 ? 's' : ''} ${missing.map(tableLabel).join(', ')} ` +
        `not found in the CRM database: fix the mapping's source (schema.table, case-sensitive) or the --source URL`,
      { context: { tables: missing.map(tableLabel) } },
    );
  }
  const relations: SourceRelation[] = [];
  for (const [index, table] of wanted.entries()) {
    const row = found.get(index)!;
    if (row.relkind !== 'r' && row.relkind !== 'p') {
      throw new ConfigError(
        'SOURCE_NOT_TABLE',
        `mapped source ${tableLabel(table)} is not a table (relkind ${row.relkind}): only tables and ` +
          'partitioned tables can be published; map the underlying table instead',
        { context: { table: tableLabel(table) } },
      );
    }
    relations.push({
      ...identityFacts(row),
      schema: row.schema,
      table: row.table,
      oid: Number(row.oid),
      kind: row.relkind,
      isPartition: pgBool(row.relispartition),
      leaves: row.relkind === 'p' ? await describeLeaves(client, Number(row.oid)) : [],
      ancestors: pgBool(row.relispartition) ? await describeAncestors(client, Number(row.oid)) : [],
    });
  }
  return relations;
}

function identityFacts(row: RelationRow): IdentityFacts {
  return {
    replicaIdentity: row.relreplident,
    hasPrimaryKey: pgBool(row.has_primary_key),
    hasIdentityIndex: pgBool(row.has_identity_index),
  };
}

async function describeLeaves(
  client: SqlClient,
  root: number,
): Promise<readonly (IdentityFacts & TableName)[]> {
  const rows = await rowsOf<RelationRow>(
    client,
    `SELECT n.nspname AS schema, c.relname AS table, ${identityColumns}
       FROM pg_partition_tree($1::oid::regclass) t
       JOIN pg_class c ON c.oid = t.relid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE t.isleaf
      ORDER BY n.nspname, c.relname`,
    [root],
  );
  return rows.map((row) => ({ ...identityFacts(row), schema: row.schema, table: row.table }));
}

async function describeAncestors(client: SqlClient, oid: number): Promise<readonly number[]> {
  const rows = await rowsOf<{ oid: number | string }>(
    client,
    'SELECT relid::oid::int8 AS oid FROM pg_partition_ancestors($1::oid::regclass) WHERE relid <> $1::oid::regclass',
    [oid],
  );
  return rows.map((row) => Number(row.oid));
}

// ---------------------------------------------------------------------------------------------
// Replica identity
// ---------------------------------------------------------------------------------------------

/**
 * Why UPDATE/DELETE on this relation could not be published, or undefined when they can. Once a
 * table without a usable identity is in a publication, PostgreSQL refuses its UPDATEs and
 * DELETEs on the CRM itself, so this must be caught before the table is added.
 */
export function identityProblem(facts: IdentityFacts): string | undefined {
  switch (facts.replicaIdentity) {
    case 'f':
      return undefined;
    case 'n':
      return 'has REPLICA IDENTITY NOTHING';
    case 'd':
      return facts.hasPrimaryKey ? undefined : 'has no primary key (REPLICA IDENTITY DEFAULT)';
    case 'i':
      return facts.hasIdentityIndex
        ? undefined
        : 'has REPLICA IDENTITY USING INDEX on an index that no longer exists';
    default:
      return `has an unknown replica identity '${String(facts.replicaIdentity)}'`;
  }
}

/**
 * Refuses (exit 2) a mapped table, or a partition of a mapped partitioned table, whose replica
 * identity cannot carry updates and deletes; and a partition mapped beside its own root, whose
 * changes would all be published through the root and never reach the partition's mapping.
 */
export function checkReplicaIdentity(relations: readonly SourceRelation[]): void {
  for (const relation of relations) {
    const targets: (IdentityFacts & TableName)[] =
      relation.kind === 'p' ? [...relation.leaves] : [relation];
    for (const target of targets) {
      const problem = identityProblem(target);
      if (problem === undefined) continue;
      const label = tableLabel(target);
      const via =
        relation.kind === 'p' ? ` (a partition of mapped table ${tableLabel(relation)})` : '';
      throw new ConfigError(
        'REPLICA_IDENTITY',
        `source table ${label}${via} ${problem}, so its UPDATEs and DELETEs cannot be replicated: ` +
          `run ALTER TABLE ${quotePgTable(target.schema, target.table)} REPLICA IDENTITY FULL, or add a primary key`,
        { context: { table: label, replicaIdentity: target.replicaIdentity } },
      );
    }
  }
  const mapped = new Map(relations.map((relation) => [relation.oid, relation]));
  for (const relation of relations) {
    const root = relation.ancestors
      .map((oid) => mapped.get(oid))
      .find((found) => found !== undefined);
    if (root === undefined) continue;
    throw new ConfigError(
      'PARTITION_MAPPED',
      `source table ${tableLabel(relation)} is a partition of ${tableLabel(root)}, which is mapped too: ` +
        `its changes are published through ${tableLabel(root)} (publish_via_partition_root); map the parent table only`,
      { context: { table: tableLabel(relation), root: tableLabel(root) } },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Publication state
// ---------------------------------------------------------------------------------------------

export interface PublicationMember extends TableName {
  readonly oid: number;
  /** A PG15 row filter or column list: millrace filters itself and needs every column. */
  readonly restricted: boolean;
}

export interface PublicationState {
  readonly name: string;
  readonly allTables: boolean;
  readonly viaRoot: boolean;
  /** Whether INSERT, UPDATE, DELETE and TRUNCATE are all published. */
  readonly publishesAll: boolean;
  /** Whether the current role owns the publication (needed to alter it). */
  readonly owned: boolean;
  /** Tables listed in the publication itself (pg_publication_rel). */
  readonly members: readonly PublicationMember[];
}

async function serverVersion(client: SqlClient): Promise<number> {
  const [row] = await rowsOf<{ version: string }>(
    client,
    "SELECT current_setting('server_version_num') AS version",
  );
  return Number(row?.version ?? 0);
}

/** The publication as it is now, or undefined when it does not exist in this database. */
export async function readPublication(
  client: SqlClient,
  name: string,
): Promise<PublicationState | undefined> {
  const [publication] = await rowsOf<{
    oid: number | string;
    puballtables: unknown;
    pubviaroot: unknown;
    publishes_all: unknown;
    owned: unknown;
  }>(
    client,
    `SELECT p.oid::int8 AS oid, p.puballtables, p.pubviaroot,
            (p.pubinsert AND p.pubupdate AND p.pubdelete AND p.pubtruncate) AS publishes_all,
            pg_has_role(p.pubowner, 'USAGE') AS owned
       FROM pg_publication p WHERE p.pubname = $1`,
    [name],
  );
  if (publication === undefined) return undefined;
  // Row filters and column lists appeared in PostgreSQL 15.
  const restricted =
    (await serverVersion(client)) >= 150000
      ? '(r.prqual IS NOT NULL OR r.prattrs IS NOT NULL)'
      : 'false';
  const members = await rowsOf<{
    schema: string;
    table: string;
    oid: number | string;
    restricted: unknown;
  }>(
    client,
    `SELECT n.nspname AS schema, c.relname AS table, c.oid::int8 AS oid, ${restricted} AS restricted
       FROM pg_publication_rel r
       JOIN pg_class c ON c.oid = r.prrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE r.prpubid = $1
      ORDER BY n.nspname, c.relname`,
    [publication.oid],
  );
  return {
    name,
    allTables: pgBool(publication.puballtables),
    viaRoot: pgBool(publication.pubviaroot),
    publishesAll: pgBool(publication.publishes_all),
    owned: pgBool(publication.owned),
    members: members.map((row) => ({
      schema: row.schema,
      table: row.table,
      oid: Number(row.oid),
      restricted: pgBool(row.restricted),
    })),
  };
}

/** What `ensurePublication` would change, computed without touching anything. */
export interface PublicationPlan {
  readonly create: boolean;
  /** Mapped tables not in the publication yet. */
  readonly add: readonly SourceRelation[];
  /** Mapped tables listed with a row filter or column list: dropped and added back whole. */
  readonly unrestrict: readonly SourceRelation[];
  /** publish_via_partition_root or the published operations need setting. */
  readonly setOptions: boolean;
  /** Mapped tables already published as they should be. */
  readonly present: readonly SourceRelation[];
  /** Tables in the publication that no mapping reads (left alone: setup only adds). */
  readonly unmapped: readonly TableName[];
  /** The existing publication needs an ALTER, which only its owner may run. */
  readonly alterNotOwned: boolean;
}

export function planPublication(
  state: PublicationState | undefined,
  relations: readonly SourceRelation[],
): PublicationPlan {
  if (state === undefined) {
    return {
      create: true,
      add: relations,
      unrestrict: [],
      setOptions: false,
      present: [],
      unmapped: [],
      alterNotOwned: false,
    };
  }
  const members = new Map(state.members.map((member) => [member.oid, member]));
  const mapped = new Set(relations.map((relation) => relation.oid));
  const add: SourceRelation[] = [];
  const unrestrict: SourceRelation[] = [];
  const present: SourceRelation[] = [];
  for (const relation of relations) {
    const member = members.get(relation.oid);
    if (state.allTables) present.push(relation);
    else if (member === undefined) add.push(relation);
    else if (member.restricted) unrestrict.push(relation);
    else present.push(relation);
  }
  const setOptions = !state.viaRoot || !state.publishesAll;
  return {
    create: false,
    add,
    unrestrict,
    setOptions,
    present,
    unmapped: state.members.filter((member) => !mapped.has(member.oid)),
    alterNotOwned: !state.owned && (setOptions || add.length > 0 || unrestrict.length > 0),
  };
}

// ---------------------------------------------------------------------------------------------
// Privileges
// ---------------------------------------------------------------------------------------------

export interface RoleFacts {
  readonly role: string;
  readonly superuser: boolean;
  readonly replication: boolean;
  /** CREATE on the current database, needed to create a publication. */
  readonly canCreateInDatabase: boolean;
}

export async function readRole(client: SqlClient): Promise<RoleFacts> {
  const [row] = await rowsOf<{
    role: string;
    rolsuper: unknown;
    rolreplication: unknown;
    can_create: unknown;
  }>(
    client,
    `SELECT current_user AS role, r.rolsuper, r.rolreplication,
            has_database_privilege(current_database(), 'CREATE') AS can_create
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  if (row === undefined)
    throw new RuntimeFailure('PERMISSION_DENIED', 'cannot read the current role from pg_roles');
  return {
    role: row.role,
    superuser: pgBool(row.rolsuper),
    replication: pgBool(row.rolreplication),
    canCreateInDatabase: pgBool(row.can_create),
  };
}

/**
 * Fails (exit 3, PERMISSION_DENIED) listing everything the role lacks, each with its fix:
 * REPLICATION (or superuser) for the slot, SELECT on every mapped table for backfill and audit,
 * and what the pending publication changes need (CREATE on the database, table ownership).
 */
export async function checkPrivileges(
  client: SqlClient,
  relations: readonly SourceRelation[],
  plan?: PublicationPlan,
  publication?: string,
): Promise<RoleFacts> {
  const role = await readRole(client);
  if (role.superuser) return role;
  const who = quotePgIdent(role.role);
  const missing: string[] = [];
  if (!role.replication) missing.push(`REPLICATION (fix: ALTER ROLE ${who} WITH REPLICATION)`);
  const rows = await rowsOf<{ oid: number | string; can_select: unknown; owned: unknown }>(
    client,
    `SELECT c.oid::int8 AS oid, has_table_privilege(c.oid, 'SELECT') AS can_select,
            pg_has_role(c.relowner, 'USAGE') AS owned
       FROM pg_class c WHERE c.oid = ANY($1::oid[])`,
    [relations.map((relation) => relation.oid)],
  );
  const byOid = new Map(rows.map((row) => [Number(row.oid), row]));
  const unreadable = relations.filter((relation) => !pgBool(byOid.get(relation.oid)?.can_select));
  if (unreadable.length > 0) {
    const list = unreadable
      .map((relation) => quotePgTable(relation.schema, relation.table))
      .join(', ');
    missing.push(
      `SELECT on ${unreadable.map(tableLabel).join(', ')} (fix: GRANT SELECT ON ${list} TO ${who})`,
    );
  }
  if (plan?.create && !role.canCreateInDatabase) {
    missing.push(
      `CREATE on the database, to create the publication (fix: GRANT CREATE ON DATABASE <crm> TO ${who})`,
    );
  }
  if (plan?.alterNotOwned) {
    missing.push(
      `ownership of publication ${publication ?? ''}, to add tables to it (fix: ALTER PUBLICATION ${quotePgIdent(publication ?? '')} OWNER TO ${who}, as its owner)`,
    );
  }
  const toPublish = plan ? [...plan.add, ...plan.unrestrict] : [];
  const notOwned = toPublish.filter((relation) => !pgBool(byOid.get(relation.oid)?.owned));
  if (notOwned.length > 0) {
    missing.push(
      `ownership of ${notOwned.map(tableLabel).join(', ')}, to publish ${notOwned.length > 1 ? 'them' : 'it'} ` +
        `(fix: run setup as the tables' owner or a superuser, or create the publication ${publication ?? ''} as one)`,
    );
  }
  if (missing.length === 0) return role;
  throw new RuntimeFailure(
    'PERMISSION_DENIED',
    `role ${role.role} is missing: ${missing.join('; ')}`,
    {
      context: { role: role.role, missing },
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Publication changes
// ---------------------------------------------------------------------------------------------

export interface PublicationResult {
  readonly name: string;
  readonly created: boolean;
  readonly added: readonly string[];
  /** Tables whose row filter or column list was removed. */
  readonly unrestricted: readonly string[];
  readonly optionsSet: boolean;
  readonly present: readonly string[];
  readonly unmapped: readonly string[];
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
  client: SqlClient,
  name: string,
  relations: readonly SourceRelation[],
): Promise<PublicationResult> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lockKey(name)]);
    const state = await readPublication(client, name);
    const plan = planPublication(state, relations);
    const ident = quotePgIdent(name);
    if (plan.create) {
      const tables = plan.add.length > 0 ? ` FOR TABLE ${tableList(plan.add)}` : '';
      await client.query(`CREATE PUBLICATION ${ident}${tables} WITH (${publicationOptions})`);
    } else {
      if (plan.setOptions)
        await client.query(`ALTER PUBLICATION ${ident} SET (${publicationOptions})`);
      if (plan.unrestrict.length > 0) {
        await client.query(`ALTER PUBLICATION ${ident} DROP TABLE ${tableList(plan.unrestrict)}`);
      }
      const toAdd = [...plan.add, ...plan.unrestrict];
      if (toAdd.length > 0)
        await client.query(`ALTER PUBLICATION ${ident} ADD TABLE ${tableList(toAdd)}`);
    }
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

/** An insufficient_privilege error raised by DDL, as the one-line PERMISSION_DENIED of DESIGN.md. */
function wrapPrivilegeError(error: unknown, what: string): unknown {
  if (sqlState(error) !== '42501') return error;
  return new RuntimeFailure(
    'PERMISSION_DENIED',
    `${what}: ${describeError(error)} (run setup as a superuser or the tables' owner with REPLICATION)`,
    { cause: error },
  );
}

// ---------------------------------------------------------------------------------------------
// Slot
// ---------------------------------------------------------------------------------------------

export interface SlotFacts {
  readonly name: string;
  readonly plugin: string | null;
  readonly slotType: string;
  readonly database: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly confirmedFlushLsn: string | null;
  readonly walStatus: string | null;
  /** Whether the slot lives in the database this session is connected to. */
  readonly inThisDatabase: boolean;
}

/** The slot as pg_replication_slots shows it, or undefined when there is none of that name. */
export async function readSlot(client: SqlClient, slot: string): Promise<SlotFacts | undefined> {
  const [row] = await rowsOf<{
    plugin: string | null;
    slot_type: string;
    database: string | null;
    active: unknown;
    active_pid: number | string | null;
    confirmed_flush_lsn: string | null;
    wal_status: string | null;
    in_this_database: unknown;
  }>(
    client,
    `SELECT s.plugin, s.slot_type, s.database, s.active, s.active_pid,
            s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.wal_status,
            coalesce(s.database = current_database(), false) AS in_this_database
       FROM pg_replication_slots s WHERE s.slot_name = $1`,
    [slot],
  );
  if (row === undefined) return undefined;
  return {
    name: slot,
    plugin: row.plugin,
    slotType: row.slot_type,
    database: row.database,
    active: pgBool(row.active),
    activePid: row.active_pid === null ? null : Number(row.active_pid),
    confirmedFlushLsn: row.confirmed_flush_lsn,
    walStatus: row.wal_status,
    inThisDatabase: pgBool(row.in_this_database),
  };
}

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
function checkUsableSlot(slot: SlotFacts): void {
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

/** Creates the pgoutput slot when missing; an existing one is checked and kept. */
export async function ensureSlot(client: SqlClient, slot: string): Promise<SlotResult> {
  const existing = await readSlot(client, slot);
  if (existing !== undefined) {
    checkUsableSlot(existing);
    return { name: slot, created: false, lsn: existing.confirmedFlushLsn };
  }
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
      if (raced !== undefined) {
        checkUsableSlot(raced);
        return { name: slot, created: false, lsn: raced.confirmedFlushLsn };
      }
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

// ---------------------------------------------------------------------------------------------
// setup as one call
// ---------------------------------------------------------------------------------------------

export interface SetupOptions {
  readonly client: SqlClient;
  readonly publication: string;
  readonly slot: string;
  /** The source tables of every mapping (duplicates allowed). */
  readonly tables: readonly TableName[];
}

export interface SetupReport {
  readonly role: RoleFacts;
  readonly relations: readonly SourceRelation[];
  readonly publication: PublicationResult;
  readonly slot: SlotResult;
}

/**
 * The whole of `setup`, in the order that fails before changing anything: wal_level, the mapped
 * tables, privileges, replica identities, an existing slot's fitness; then the publication,
 * then the slot.
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
  const publication = await ensurePublication(client, options.publication, relations);
  const slot = await ensureSlot(client, options.slot);
  return { role, relations, publication, slot };
}

// ---------------------------------------------------------------------------------------------
// teardown
// ---------------------------------------------------------------------------------------------

export interface TeardownPlan {
  readonly slot: SlotFacts | undefined;
  readonly publication: PublicationState | undefined;
}

/** What `teardown` would drop, read without changing anything. */
export async function planTeardown(
  client: SqlClient,
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
export async function dropSlot(client: SqlClient, slot: string): Promise<boolean> {
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
export async function dropPublication(client: SqlClient, publication: string): Promise<boolean> {
  const existing = await readPublication(client, publication);
  if (existing === undefined) return false;
  try {
    await client.query(`DROP PUBLICATION IF EXISTS ${quotePgIdent(publication)}`);
    return true;
  } catch (error) {
    throw wrapPrivilegeError(error, `cannot drop publication ${publication}`);
  }
}

export interface TeardownResult {
  readonly slotDropped: boolean;
  readonly publicationDropped: boolean;
}

/** Drops the slot first (it fails when in use, leaving the publication for the running replicator), then the publication. */
export async function teardownReplication(
  client: SqlClient,
  names: { readonly slot: string; readonly publication: string },
): Promise<TeardownResult> {
  const slotDropped = await dropSlot(client, names.slot);
  const publicationDropped = await dropPublication(client, names.publication);
  return { slotDropped, publicationDropped };
}
