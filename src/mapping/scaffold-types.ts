import type { SourceType } from '../values/column-types.js';
import { describeSource, type SourceSpec } from '../values/source-spec.js';

/**
 * The MySQL column type a scaffolded staging table gives each source column: the one the values
 * module converts into exactly, so `mappings check --strict` has nothing to say about the pair.
 */

/** One staging column as a knex migration creates it. */
export interface ScaffoldColumn {
  readonly name: string;
  /** MySQL type for knex's `specificType`, e.g. `DECIMAL(12,2)`, `ENUM('a','b')`. */
  readonly sqlType: string;
  readonly notNull: boolean;
}

/** DECIMAL's limits: at most 65 digits, 30 of them after the point. */
const maxDecimalDigits = 65;
const maxDecimalScale = 30;
/** The longest VARCHAR a utf8mb4 column can declare (65,535 bytes / 4). */
const maxVarchar = 16_383;
/**
 * Bytes of VARCHAR columns one staging row may declare (InnoDB counts them against its 65,535
 * byte row limit); the text columns past it become TEXT types, which are stored off the row.
 */
const varcharRowBudget = 48_000;
/** InnoDB's longest index key, 3,072 bytes: 768 utf8mb4 characters, shared by the key's columns. */
const maxKeyChars = 768;

const integerTypes: Readonly<Record<string, string>> = {
  int2: 'SMALLINT',
  int4: 'INT',
  int8: 'BIGINT',
  oid: 'INT UNSIGNED',
};

/** The smallest TEXT type whose byte limit holds `chars` utf8mb4 characters (undefined: any length). */
function textType(chars: number | undefined): string {
  if (chars === undefined) return 'LONGTEXT';
  const bytes = chars * 4;
  if (bytes <= 65_535) return 'TEXT';
  if (bytes <= 16_777_215) return 'MEDIUMTEXT';
  return 'LONGTEXT';
}

/** numeric(p,s) as DECIMAL with as many integer and fraction digits; LONGTEXT when unconstrained or too wide. */
function decimalType(spec: SourceSpec): string {
  if (spec.precision === undefined || spec.scale === undefined) return 'LONGTEXT';
  const scale = Math.max(spec.scale, 0);
  const digits = Math.max(spec.precision - spec.scale, 0) + scale;
  if (digits > maxDecimalDigits || scale > maxDecimalScale) return 'LONGTEXT';
  return `DECIMAL(${Math.max(digits, 1)},${scale})`;
}

/** A text form of at most `maxChars` characters: VARCHAR while the row has room, else a TEXT type. */
function textColumnType(maxChars: number | undefined, budget: { bytes: number }): string {
  if (maxChars === undefined || maxChars > maxVarchar) return textType(maxChars);
  const bytes = maxChars * 4 + 2;
  if (bytes > budget.bytes) return textType(maxChars);
  budget.bytes -= bytes;
  return `VARCHAR(${maxChars})`;
}

/** The type for a non-key column; `budget` is the VARCHAR room left in the row. */
function columnType(
  spec: SourceSpec,
  labels: readonly string[] | undefined,
  budget: { bytes: number },
): Pick<ScaffoldColumn, 'sqlType'> {
  const fsp = `(${spec.fsp})`;
  switch (spec.family) {
    case 'integer':
      return { sqlType: integerTypes[spec.name]! };
    case 'numeric':
      return { sqlType: decimalType(spec) };
    case 'float':
      return { sqlType: spec.name === 'float4' ? 'FLOAT' : 'DOUBLE' };
    case 'boolean':
      return { sqlType: 'TINYINT(1)' };
    case 'date':
      return { sqlType: 'DATE' };
    case 'timestamp':
    case 'timestamptz':
      return { sqlType: `DATETIME${fsp}` };
    case 'time':
      return { sqlType: `TIME${fsp}` };
    case 'uuid':
      return { sqlType: 'CHAR(36)' };
    case 'json':
    case 'array':
      return { sqlType: 'JSON' };
    case 'bytea':
      return { sqlType: 'LONGBLOB' };
    case 'enum':
      // MySQL strips trailing spaces from ENUM labels: such labels travel as text instead.
      if (labels && labels.length > 0 && !labels.some((label) => / $/.test(label)))
        return { sqlType: `ENUM(${labels.map(mysqlString).join(',')})` };
      return { sqlType: textColumnType(spec.maxChars, budget) };
    default:
      // text, varchar(n), char(n), timetz and every other type: their text form.
      return { sqlType: textColumnType(spec.maxChars, budget) };
  }
}

/** A MySQL string literal (knex's `enu` does not escape quotes in labels). */
function mysqlString(text: string): string {
  return `'${text.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}

/** Types no primary key can use (MySQL indexes TEXT and BLOB columns by prefix only). */
const unindexable = /^(TINY|MEDIUM|LONG)?(TEXT|BLOB)$|^JSON$/;

/**
 * A key column's type: the column's own, unless MySQL cannot index it; then the longest VARCHAR
 * or VARBINARY its share of the key can hold (`maxChars`), with a note (`mappings check` warns
 * that longer values are rejected).
 */
function keyType(
  name: string,
  spec: SourceSpec,
  labels: readonly string[] | undefined,
  maxChars: number,
  notes: string[],
): Pick<ScaffoldColumn, 'sqlType'> {
  const chosen = columnType(spec, labels, { bytes: Number.POSITIVE_INFINITY });
  const varchar = /^VARCHAR\((\d+)\)$/.exec(chosen.sqlType);
  if (varchar && Number(varchar[1]) <= maxChars) return chosen;
  if (!varchar && !unindexable.test(chosen.sqlType)) return chosen;
  const replacement =
    spec.family === 'bytea' ? `VARBINARY(${maxChars * 4})` : `VARCHAR(${maxChars})`;
  notes.push(
    `key column ${name} (${spec.label}) is ${replacement} on the MES, as long as a MySQL key allows: longer values would be rejected, and mappings check warns about it`,
  );
  return { sqlType: replacement };
}

/** A source column, as the scaffold needs it. */
export interface ScaffoldSource {
  readonly name: string;
  readonly type: SourceType;
  readonly notNull: boolean;
  /** For an enum column: its labels in order. */
  readonly labels?: readonly string[];
}

/**
 * The staging columns for a table's columns (in order), the key columns typed first so the
 * VARCHAR budget goes to them. `notes` collects what the user should know.
 */
export function scaffoldColumns(
  columns: readonly ScaffoldSource[],
  key: readonly string[],
  notes: string[],
): ScaffoldColumn[] {
  const budget = { bytes: varcharRowBudget };
  const types = new Map<string, Pick<ScaffoldColumn, 'sqlType'>>();
  for (const column of columns.filter((candidate) => key.includes(candidate.name))) {
    const share = Math.floor(maxKeyChars / key.length);
    const chosen = keyType(column.name, describeSource(column.type), column.labels, share, notes);
    const varchar = /^VARCHAR\((\d+)\)$/.exec(chosen.sqlType);
    if (varchar) budget.bytes -= Number(varchar[1]) * 4 + 2;
    types.set(column.name, chosen);
  }
  for (const column of columns) {
    if (types.has(column.name)) continue;
    types.set(column.name, columnType(describeSource(column.type), column.labels, budget));
  }
  return columns.map((column) => ({
    name: column.name,
    ...types.get(column.name)!,
    // A primary key column is NOT NULL on the MES whatever the source says.
    notNull: column.notNull || key.includes(column.name),
  }));
}
