import type { SourceColumn, SourceTable } from '../mapping/tables.js';
import type { SourceType } from '../values/column-types.js';
import type { PgClient } from './pg-client.js';
import type { TableName } from './table-name.js';

interface TableRow {
  oid: string;
  schema: string;
  name: string;
  relkind: 'r' | 'p';
  relreplident: 'd' | 'n' | 'f' | 'i';
  root: string | null;
}

interface ColumnRow {
  relid: string;
  name: string;
  typid: string;
  typmod: string;
  /** `t`/`f` through millrace's text-only type parsers; a boolean through pg's defaults. */
  notnull: boolean | string;
  storage: string;
}

export interface TypeRow {
  oid: string;
  typname: string;
  typtype: string;
  typcategory: string;
  typbasetype: string;
  typtypmod: string;
  typelem: string;
  typarray: string;
  typlen: string;
}

interface KeyRow {
  relid: string;
  kind: 'p' | 'i';
  /** JSON array text: millrace's sessions read every value as text, arrays included. */
  columns: string;
}

/** Tables (and partitioned tables) of the given names. Views and foreign tables are not published, so they are left out. */
const tablesSql = `
select c.oid::text as oid, n.nspname as schema, c.relname as name, c.relkind, c.relreplident,
       case when c.relispartition then (
         select rn.nspname || '.' || r.relname
           from pg_partition_ancestors(c.oid) a
           join pg_class r on r.oid = a.relid
           join pg_namespace rn on rn.oid = r.relnamespace
          where not r.relispartition
       ) end as root
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join unnest($1::text[], $2::text[]) as wanted(schema, name) on wanted.schema = n.nspname and wanted.name = c.relname
 where c.relkind in ('r', 'p')`;

const columnsSql = `
select a.attrelid::text as relid, a.attname as name, a.atttypid::text as typid, a.atttypmod::text as typmod,
       a.attnotnull as notnull, a.attstorage as storage
  from pg_attribute a
 where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
 order by a.attrelid, a.attnum`;

const typesSql = `
select oid::text, typname, typtype, typcategory, typbasetype::text, typtypmod::text, typelem::text, typarray::text, typlen::text
  from pg_type where oid = any($1::oid[])`;

/**
 * Primary key, and the replica identity index. For a partitioned table the rows it publishes come
 * from its leaf partitions, whose own identity decides what old-key tuples carry: every leaf is
 * returned too (as `leaf` rows keyed by their root) so the weakest one can be taken.
 */
const keysSql = `
select i.indrelid::text as relid, case when i.indisprimary then 'p' else 'i' end as kind,
       to_json(array(select a.attname from unnest(i.indkey) with ordinality k(attnum, position)
                       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                      order by k.position))::text as columns
  from pg_index i
 where i.indrelid = any($1::oid[]) and (i.indisprimary or i.indisreplident)`;

const leavesSql = `
select t.relid::oid::text as leaf from pg_partition_tree($1::oid) t where t.isleaf`;

/** Resolves types through domains (to the base type, keeping the domain's typmod) and fetches array elements. */
export async function loadTypes(
  client: PgClient,
  oids: Iterable<string>,
): Promise<Map<string, TypeRow>> {
  const types = new Map<string, TypeRow>();
  let wanted = new Set(oids);
  while (wanted.size > 0) {
    const { rows } = await client.query<TypeRow>(typesSql, [[...wanted]]);
    wanted = new Set();
    for (const row of rows) types.set(row.oid, row);
    for (const row of rows) {
      for (const next of [
        row.typtype === 'd' ? row.typbasetype : '0',
        row.typcategory === 'A' ? row.typelem : '0',
      ]) {
        if (next !== '0' && !types.has(next)) wanted.add(next);
      }
    }
  }
  return types;
}

/** Base type of a domain chain; the outermost declared typmod wins, as PostgreSQL applies it. */
function resolveDomain(
  types: Map<string, TypeRow>,
  oid: string,
  typmod: number,
): { type: TypeRow; typmod: number } {
  let type = types.get(oid)!;
  let mod = typmod;
  for (let depth = 0; type.typtype === 'd' && depth < 32; depth++) {
    if (mod === -1) mod = Number(type.typtypmod);
    type = types.get(type.typbasetype)!;
  }
  return { type, typmod: mod };
}

export function sourceType(types: Map<string, TypeRow>, oid: string, typmod: number): SourceType {
  const { type, typmod: mod } = resolveDomain(types, oid, typmod);
  if (type.typcategory === 'A' && type.typelem !== '0') {
    // An array of a domain converts as an array of the domain's base type.
    const element = resolveDomain(types, type.typelem, -1).type;
    const arrayName = element.oid === type.typelem ? type.typname : `_${element.typname}`;
    const arrayOid = element.oid === type.typelem ? type.oid : element.typarray;
    return Object.freeze({
      name: arrayName,
      oid: Number(arrayOid),
      category: 'A',
      elementName: element.typname,
      typmod: mod,
    });
  }
  return Object.freeze({
    name: type.typname,
    oid: Number(type.oid),
    category: type.typcategory,
    typmod: mod,
  });
}

function columnList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : (JSON.parse(value) as string[]);
}

/** What the catalogs say about the found tables and the leaf partitions of partitioned ones. */
interface Catalog {
  readonly types: Map<string, TypeRow>;
  readonly columnRows: readonly ColumnRow[];
  readonly keyRows: readonly KeyRow[];
  /** Partitioned table OID → the OIDs of its leaf partitions. */
  readonly leavesByRoot: ReadonlyMap<string, readonly string[]>;
  readonly leafIdentity: ReadonlyMap<string, ReplicaIdentity>;
}

type ReplicaIdentity = TableRow['relreplident'];

/** A partitioned table's leaves decide its effective replica identity. */
async function readLeaves(
  client: PgClient,
  found: readonly TableRow[],
): Promise<Pick<Catalog, 'leavesByRoot' | 'leafIdentity'>> {
  const leavesByRoot = new Map<string, string[]>();
  for (const table of found.filter((row) => row.relkind === 'p')) {
    const { rows } = await client.query<{ leaf: string }>(leavesSql, [table.oid]);
    leavesByRoot.set(
      table.oid,
      rows.map((row) => row.leaf),
    );
  }
  const leafOids = [...leavesByRoot.values()].flat();
  const { rows: leafRows } =
    leafOids.length === 0
      ? { rows: [] as { oid: string; relreplident: ReplicaIdentity }[] }
      : await client.query<{ oid: string; relreplident: ReplicaIdentity }>(
          'select oid::text as oid, relreplident from pg_class where oid = any($1::oid[])',
          [leafOids],
        );
  const leafIdentity = new Map(leafRows.map((row) => [row.oid, row.relreplident] as const));
  return { leavesByRoot, leafIdentity };
}

async function readCatalog(client: PgClient, found: readonly TableRow[]): Promise<Catalog> {
  const leaves = await readLeaves(client, found);
  const relids = [...found.map((row) => row.oid), ...[...leaves.leavesByRoot.values()].flat()];
  const { rows: columnRows } = await client.query<ColumnRow>(columnsSql, [relids]);
  const { rows: keyRows } = await client.query<KeyRow>(keysSql, [relids]);
  const types = await loadTypes(
    client,
    columnRows.map((row) => row.typid),
  );
  return { ...leaves, types, columnRows, keyRows };
}

function columnsOf(catalog: Catalog, relid: string): ColumnRow[] {
  return catalog.columnRows.filter((row) => row.relid === relid);
}

function keyOf(catalog: Catalog, relid: string, kind: 'p' | 'i'): string[] {
  return columnList(
    catalog.keyRows.find((row) => row.relid === relid && row.kind === kind)?.columns,
  );
}

/** The columns a relation's own replica identity carries in old-key tuples. */
function identityOf(catalog: Catalog, relid: string, replident: ReplicaIdentity): string[] {
  switch (replident) {
    case 'd':
      return keyOf(catalog, relid, 'p');
    case 'i':
      return keyOf(catalog, relid, 'i');
    case 'f':
      return columnsOf(catalog, relid).map((row) => row.name);
    case 'n':
      return [];
  }
}

function describeColumns(catalog: Catalog, relid: string): Map<string, SourceColumn> {
  const columns = new Map<string, SourceColumn>();
  for (const row of columnsOf(catalog, relid)) {
    const type = sourceType(catalog.types, row.typid, Number(row.typmod));
    const base = resolveDomain(catalog.types, row.typid, -1).type;
    columns.set(
      row.name,
      Object.freeze({
        name: row.name,
        type,
        notNull: row.notnull === true || row.notnull === 't',
        toastable: Number(base.typlen) === -1 && row.storage !== 'p',
      }),
    );
  }
  return columns;
}

/** The table's replica identity, or for a partitioned table the weakest of its leaves'. */
function effectiveIdentity(
  catalog: Catalog,
  table: TableRow,
  columnNames: readonly string[],
): { replicaIdentity: ReplicaIdentity; identityColumns: string[] } {
  const leaves = catalog.leavesByRoot.get(table.oid);
  if (!leaves || leaves.length === 0) {
    return {
      replicaIdentity: table.relreplident,
      identityColumns: identityOf(catalog, table.oid, table.relreplident),
    };
  }
  // What an old-key tuple carries is what every leaf carries.
  const perLeaf = leaves.map((leaf) => {
    const ident = catalog.leafIdentity.get(leaf) ?? 'd';
    return { ident, columns: new Set(identityOf(catalog, leaf, ident)) };
  });
  const kinds = new Set(perLeaf.map((leaf) => leaf.ident));
  return {
    replicaIdentity:
      kinds.size === 1 ? perLeaf[0]!.ident : kinds.has('n') ? 'n' : kinds.has('i') ? 'i' : 'd',
    identityColumns: columnNames.filter((name) => perLeaf.every((leaf) => leaf.columns.has(name))),
  };
}

function describeTable(catalog: Catalog, table: TableRow): SourceTable {
  const columns = describeColumns(catalog, table.oid);
  const { replicaIdentity, identityColumns } = effectiveIdentity(catalog, table, [
    ...columns.keys(),
  ]);
  return Object.freeze({
    schema: table.schema,
    name: table.name,
    columns,
    primaryKey: Object.freeze(keyOf(catalog, table.oid, 'p')),
    replicaIdentity,
    identityColumns: Object.freeze(identityColumns),
    kind: table.relkind,
    ...(table.root ? { partitionOf: table.root } : {}),
  });
}

/**
 * Reads the catalogs for the mapped CRM tables: columns with their domain-resolved types, primary
 * key, replica identity and the columns it carries, and whether a table is partitioned (or a
 * partition). Tables that do not exist are absent from the result; `mappings check` says so.
 */
export async function introspectSource(
  client: PgClient,
  tables: readonly TableName[],
): Promise<ReadonlyMap<string, SourceTable>> {
  if (tables.length === 0) return new Map();
  const { rows: found } = await client.query<TableRow>(tablesSql, [
    tables.map((table) => table.schema),
    tables.map((table) => table.table),
  ]);
  if (found.length === 0) return new Map();
  const catalog = await readCatalog(client, found);
  return new Map(
    found.map((table) => [`${table.schema}.${table.name}`, describeTable(catalog, table)]),
  );
}
