import type { TargetTable } from '../mapping/tables.js';
import type { CrmColumn, SourceType } from '../values/column-types.js';
import { loadTypes, sourceType, type TypeRow } from './introspect.js';
import type { PgClient } from './pg-client.js';
import type { TableName } from './table-name.js';

interface ColumnRow {
  relid: string;
  label: string;
  name: string;
  typid: string;
  typmod: string;
  /** `t`/`f` through millrace's text-only type parsers; booleans through pg's defaults. */
  notnull: boolean | string;
  hasdefault: boolean | string;
  identity: string;
  generated: string;
}

interface KeyRow {
  relid: string;
  primary: boolean | string;
  /** JSON array text: millrace's sessions read every value as text, arrays included. */
  columns: string;
}

const columnsSql = `
select c.oid::text as relid, n.nspname || '.' || c.relname as label, a.attname as name,
       a.atttypid::text as typid, a.atttypmod::text as typmod, a.attnotnull as notnull,
       a.atthasdef as hasdefault, a.attidentity as identity, a.attgenerated as generated
  from pg_class c
  join pg_namespace n on n.oid = c.relnamespace
  join unnest($1::text[], $2::text[]) as wanted(schema, name) on wanted.schema = n.nspname and wanted.name = c.relname
  join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
 where c.relkind in ('r', 'p')
 order by c.oid, a.attnum`;

/**
 * Unique indexes ON CONFLICT can use as its arbiter: valid, immediate (not deferrable), on plain
 * columns (no expression) and not partial. Unique and primary key constraints have such an index.
 */
const keysSql = `
select i.indrelid::text as relid, i.indisprimary as primary,
       to_json(array(select a.attname from unnest(i.indkey) with ordinality k(attnum, position)
                       join pg_attribute a on a.attrelid = i.indrelid and a.attnum = k.attnum
                      order by k.position))::text as columns
  from pg_index i
 where i.indrelid = any($1::oid[]) and i.indisunique and i.indimmediate and i.indisvalid
   and i.indpred is null and i.indexprs is null
 order by i.indrelid, i.indisprimary desc, i.indexrelid`;

const enumSql = `
select enumtypid::text as oid, enumlabel as label from pg_enum
 where enumtypid = any($1::oid[]) order by enumtypid, enumsortorder`;

const flag = (value: boolean | string) => value === true || value === 't';

async function enumLabels(
  client: PgClient,
  types: ReadonlyMap<string, TypeRow>,
): Promise<Map<number, readonly string[]>> {
  const oids = [...types.values()].filter((type) => type.typtype === 'e').map((type) => type.oid);
  const labels = new Map<number, string[]>();
  if (oids.length === 0) return labels;
  const { rows } = await client.query<{ oid: string; label: string }>(enumSql, [oids]);
  for (const row of rows) {
    const list = labels.get(Number(row.oid)) ?? [];
    list.push(row.label);
    labels.set(Number(row.oid), list);
  }
  return labels;
}

function describeTable(
  name: string,
  columnRows: readonly ColumnRow[],
  keyRows: readonly KeyRow[],
  typeOf: (row: ColumnRow) => SourceType,
): TargetTable<CrmColumn> {
  const columns = new Map<string, CrmColumn>();
  const required: string[] = [];
  const generated: string[] = [];
  for (const row of columnRows) {
    const notNull = flag(row.notnull);
    // GENERATED ALWAYS AS IDENTITY refuses a value without OVERRIDING SYSTEM VALUE.
    if (row.generated !== '' || row.identity === 'a') generated.push(row.name);
    else if (notNull && !flag(row.hasdefault) && row.identity === '') required.push(row.name);
    columns.set(row.name, Object.freeze({ name: row.name, type: typeOf(row), nullable: !notNull }));
  }
  const keys = keyRows.map((row) => ({
    primary: flag(row.primary),
    columns: Object.freeze(JSON.parse(row.columns) as string[]),
  }));
  return Object.freeze({
    name,
    columns,
    primaryKey: keys.find((key) => key.primary)?.columns ?? Object.freeze([]),
    uniqueKeys: Object.freeze(keys.filter((key) => !key.primary).map((key) => key.columns)),
    requiredColumns: Object.freeze(required),
    generatedColumns: Object.freeze(generated),
  });
}

/**
 * Reads the catalogs for the CRM tables to-crm mappings write, keyed `schema.table`: columns
 * with domain-resolved types (enum labels included) and nullability, the primary key and the
 * other unique keys ON CONFLICT can use, the columns an insert must set and the generated ones.
 * Tables that do not exist are absent from the result; `mappings check` says so.
 */
export async function introspectCrmTargets(
  client: PgClient,
  tables: readonly TableName[],
): Promise<ReadonlyMap<string, TargetTable<CrmColumn>>> {
  if (tables.length === 0) return new Map();
  const { rows: columnRows } = await client.query<ColumnRow>(columnsSql, [
    tables.map((table) => table.schema),
    tables.map((table) => table.table),
  ]);
  if (columnRows.length === 0) return new Map();
  const relids = [...new Set(columnRows.map((row) => row.relid))];
  const { rows: keyRows } = await client.query<KeyRow>(keysSql, [relids]);
  const types = await loadTypes(
    client,
    columnRows.map((row) => row.typid),
  );
  const labels = await enumLabels(client, types);
  const typeOf = (row: ColumnRow): SourceType => {
    const type = sourceType(types, row.typid, Number(row.typmod));
    const enumValues = labels.get(type.oid);
    return enumValues === undefined ? type : Object.freeze({ ...type, enumLabels: enumValues });
  };
  const result = new Map<string, TargetTable<CrmColumn>>();
  for (const relid of relids) {
    const rows = columnRows.filter((row) => row.relid === relid);
    const name = rows[0]!.label;
    result.set(
      name,
      describeTable(
        name,
        rows,
        keyRows.filter((row) => row.relid === relid),
        typeOf,
      ),
    );
  }
  return result;
}
