import type { TargetTable } from '../mapping/tables.js';
import type { TargetColumn } from '../values/column-types.js';
import type { MysqlConnection } from './mysql-client.js';

interface ColumnRow {
  table_name: string;
  column_name: string;
  data_type: string;
  column_type: string;
  max_length: string | number | null;
  numeric_precision: string | number | null;
  numeric_scale: string | number | null;
  datetime_precision: string | number | null;
  is_nullable: string;
  column_default: string | null;
  extra: string | null;
  character_set: string | null;
}

interface IndexRow {
  table_name: string;
  index_name: string;
  column_name: string;
}

interface CheckRow {
  table_name: string;
  check_clause: string;
}

// Column aliases in lower case: MySQL 8 returns information_schema names in upper case otherwise.
const columnsSql = `
select TABLE_NAME as table_name, COLUMN_NAME as column_name, DATA_TYPE as data_type, COLUMN_TYPE as column_type,
       CHARACTER_MAXIMUM_LENGTH as max_length, NUMERIC_PRECISION as numeric_precision, NUMERIC_SCALE as numeric_scale,
       DATETIME_PRECISION as datetime_precision, IS_NULLABLE as is_nullable, COLUMN_DEFAULT as column_default,
       EXTRA as extra, CHARACTER_SET_NAME as character_set
  from information_schema.COLUMNS
 where TABLE_SCHEMA = database() and TABLE_NAME in (?)
 order by TABLE_NAME, ORDINAL_POSITION`;

const indexesSql = `
select TABLE_NAME as table_name, INDEX_NAME as index_name, COLUMN_NAME as column_name
  from information_schema.STATISTICS
 where TABLE_SCHEMA = database() and TABLE_NAME in (?) and NON_UNIQUE = 0
 order by TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`;

/**
 * MariaDB's JSON is LONGTEXT with a `json_valid(col)` CHECK; MySQL 8 reports DATA_TYPE json.
 * TABLE_CONSTRAINTS joins CHECK_CONSTRAINTS by name on both (MySQL's CHECK_CONSTRAINTS has no
 * table column).
 */
const checksSql = `
select tc.TABLE_NAME as table_name, cc.CHECK_CLAUSE as check_clause
  from information_schema.TABLE_CONSTRAINTS tc
  join information_schema.CHECK_CONSTRAINTS cc
    on cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA and cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
 where tc.TABLE_SCHEMA = database() and tc.TABLE_NAME in (?) and tc.CONSTRAINT_TYPE = 'CHECK'`;

function toNumber(value: string | number | null): number | null {
  return value === null ? null : Number(value);
}

/** `enum('a','it''s')` → ['a', "it's"]: quotes doubled inside labels, as information_schema writes them. */
export function parseEnumLabels(columnType: string): string[] {
  const labels: string[] = [];
  const body = columnType.slice(columnType.indexOf('(') + 1, columnType.lastIndexOf(')'));
  const pattern = /'((?:[^'\\]|''|\\.)*)'/g;
  for (let match = pattern.exec(body); match; match = pattern.exec(body)) {
    labels.push(match[1]!.replace(/''/g, "'").replace(/\\(.)/g, '$1'));
  }
  return labels;
}

/** Lower case outside quotes: `ENUM('Open')` becomes `enum('Open')`, keeping the labels as they are. */
function lowerOutsideQuotes(text: string): string {
  return text.replace(/'(?:[^']|'')*'|[^']+/g, (part) =>
    part.startsWith("'") ? part : part.toLowerCase(),
  );
}

function jsonColumnsOf(checks: readonly CheckRow[], table: string): Set<string> {
  const columns = new Set<string>();
  for (const check of checks) {
    if (check.table_name !== table) continue;
    const match = /^\s*json_valid\(\s*`?([^`()]+?)`?\s*\)\s*$/i.exec(check.check_clause);
    if (match) columns.add(match[1]!.toLowerCase());
  }
  return columns;
}

function describeColumn(row: ColumnRow, jsonChecked: ReadonlySet<string>): TargetColumn {
  const dataType = row.data_type.toLowerCase();
  const columnType = lowerOutsideQuotes(row.column_type);
  const isJson =
    dataType === 'json' ||
    (dataType === 'longtext' && jsonChecked.has(row.column_name.toLowerCase()));
  return Object.freeze({
    name: row.column_name,
    dataType,
    columnType,
    maxLength: toNumber(row.max_length),
    precision: toNumber(row.numeric_precision),
    scale: toNumber(row.numeric_scale),
    datetimePrecision: toNumber(row.datetime_precision),
    unsigned: /\bunsigned\b/.test(columnType),
    nullable: row.is_nullable === 'YES',
    isJson,
    ...(dataType === 'enum' ? { enumValues: Object.freeze(parseEnumLabels(row.column_type)) } : {}),
    ...(row.character_set ? { characterSet: row.character_set.toLowerCase() } : {}),
  });
}

/** Unique indexes (PRIMARY among them) by name, each with its columns in index order. */
function uniqueIndexes(indexRows: readonly IndexRow[]): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const row of indexRows) {
    const key = keys.get(row.index_name);
    if (key) key.push(row.column_name);
    else keys.set(row.index_name, [row.column_name]);
  }
  return keys;
}

function describeTable(
  table: string,
  columnRows: readonly ColumnRow[],
  indexRows: readonly IndexRow[],
  jsonChecked: ReadonlySet<string>,
): TargetTable {
  const columns = new Map<string, TargetColumn>();
  const required: string[] = [];
  const generated: string[] = [];
  for (const row of columnRows) {
    const extra = (row.extra ?? '').toLowerCase();
    // MySQL's "DEFAULT_GENERATED" is an expression default, not a generated column.
    const isGenerated = /\b(virtual|stored) generated\b|\bpersistent\b/.test(extra);
    // MariaDB spells "no default" as SQL NULL, and a NULL default of a nullable column as 'NULL'.
    const hasDefault = row.column_default !== null;
    if (isGenerated) generated.push(row.column_name);
    else if (row.is_nullable !== 'YES' && !hasDefault && !extra.includes('auto_increment'))
      required.push(row.column_name);
    columns.set(row.column_name, describeColumn(row, jsonChecked));
  }
  const keys = uniqueIndexes(indexRows);
  return Object.freeze({
    name: table,
    columns,
    primaryKey: Object.freeze(keys.get('PRIMARY') ?? []),
    uniqueKeys: Object.freeze(
      [...keys].filter(([name]) => name !== 'PRIMARY').map(([, columns]) => Object.freeze(columns)),
    ),
    requiredColumns: Object.freeze(required),
    generatedColumns: Object.freeze(generated),
  });
}

async function readChecks(
  connection: MysqlConnection,
  tables: readonly string[],
): Promise<CheckRow[]> {
  try {
    const [rows] = await connection.query(checksSql, [tables]);
    return rows as CheckRow[];
  } catch {
    // Servers without CHECK_CONSTRAINTS (MySQL < 8.0.16) have no CHECK-based JSON columns either.
    return [];
  }
}

/**
 * Reads information_schema for the mapped MES tables: columns as TargetColumn (JSON recognised on
 * MySQL and MariaDB, ENUM labels parsed), primary key, other unique keys, the columns an insert
 * must set and the generated ones. Tables that do not exist are absent from the result.
 */
export async function introspectTarget(
  connection: MysqlConnection,
  tables: readonly string[],
): Promise<ReadonlyMap<string, TargetTable>> {
  if (tables.length === 0) return new Map();
  const [columnRows] = (await connection.query(columnsSql, [tables])) as [ColumnRow[], unknown];
  const [indexRows] = (await connection.query(indexesSql, [tables])) as [IndexRow[], unknown];
  const checkRows = await readChecks(connection, tables);
  const result = new Map<string, TargetTable>();
  for (const table of new Set(columnRows.map((row) => row.table_name))) {
    const of = (row: { table_name: string }) => row.table_name === table;
    result.set(
      table,
      describeTable(
        table,
        columnRows.filter(of),
        indexRows.filter(of),
        jsonColumnsOf(checkRows, table),
      ),
    );
  }
  return result;
}
