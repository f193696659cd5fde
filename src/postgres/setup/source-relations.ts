import { ConfigError } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { pgBool, rowsOf } from '../sql-client.js';
import { distinctTables, type TableName, tableLabel } from '../table-name.js';

/** pg_class.relreplident: d default (primary key), n nothing, f full, i index. */
type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

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
  client: PgClient,
  tables: readonly TableName[],
): Promise<readonly SourceRelation[]> {
  const wanted = distinctTables(tables);
  const found = await findRelations(client, wanted);
  const relations: SourceRelation[] = [];
  for (const [index, table] of wanted.entries()) {
    relations.push(await describeRelation(client, table, found.get(index)!));
  }
  return relations;
}

/** The catalog row of each wanted table, by its index in `wanted`; fails naming any missing. */
async function findRelations(
  client: PgClient,
  wanted: readonly TableName[],
): Promise<ReadonlyMap<number, RelationRow>> {
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
  return found;
}

async function describeRelation(
  client: PgClient,
  table: TableName,
  row: RelationRow,
): Promise<SourceRelation> {
  if (row.relkind !== 'r' && row.relkind !== 'p') {
    throw new ConfigError(
      'SOURCE_NOT_TABLE',
      `mapped source ${tableLabel(table)} is not a table (relkind ${row.relkind}): only tables and ` +
        'partitioned tables can be published; map the underlying table instead',
      { context: { table: tableLabel(table) } },
    );
  }
  const oid = Number(row.oid);
  const isPartition = pgBool(row.relispartition);
  return {
    ...identityFacts(row),
    schema: row.schema,
    table: row.table,
    oid,
    kind: row.relkind,
    isPartition,
    leaves: row.relkind === 'p' ? await describeLeaves(client, oid) : [],
    ancestors: isPartition ? await describeAncestors(client, oid) : [],
  };
}

function identityFacts(row: RelationRow): IdentityFacts {
  return {
    replicaIdentity: row.relreplident,
    hasPrimaryKey: pgBool(row.has_primary_key),
    hasIdentityIndex: pgBool(row.has_identity_index),
  };
}

async function describeLeaves(
  client: PgClient,
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

async function describeAncestors(client: PgClient, oid: number): Promise<readonly number[]> {
  const rows = await rowsOf<{ oid: number | string }>(
    client,
    'SELECT relid::oid::int8 AS oid FROM pg_partition_ancestors($1::oid::regclass) WHERE relid <> $1::oid::regclass',
    [oid],
  );
  return rows.map((row) => Number(row.oid));
}
