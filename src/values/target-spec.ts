import type { TargetColumn } from './column-types.js';

interface TargetBase {
  readonly column: TargetColumn;
  /** How messages name the column's type: its COLUMN_TYPE, e.g. `varchar(40)`, `json`. */
  readonly label: string;
}

export interface IntegerTarget extends TargetBase {
  readonly kind: 'integer';
  readonly min: bigint;
  readonly max: bigint;
  /** BIGINT values are bound as decimal strings: a JS number cannot hold every int64. */
  readonly asString: boolean;
  /** TINYINT(1), MySQL's BOOLEAN. */
  readonly isBoolean: boolean;
}

export interface DecimalTarget extends TargetBase {
  readonly kind: 'decimal';
  readonly precision: number;
  readonly scale: number;
  readonly unsigned: boolean;
}

export interface FloatTarget extends TargetBase {
  readonly kind: 'float';
  /** FLOAT (IEEE single) rather than DOUBLE. */
  readonly single: boolean;
  readonly unsigned: boolean;
  /** FLOAT(M,D) / DOUBLE(M,D): the server rounds to D decimals and caps M-D integer digits. */
  readonly fixed: { readonly precision: number; readonly scale: number } | undefined;
}

export interface StringTarget extends TargetBase {
  readonly kind: 'string';
  /** CHAR(n)/VARCHAR(n) limit in characters (code points); null for the TEXT types. */
  readonly maxChars: number | null;
  /** TEXT types' limit in UTF-8 bytes; null for CHAR/VARCHAR. */
  readonly maxBytes: number | null;
  /** CHAR(n): MySQL drops trailing spaces when it reads the value back. */
  readonly padded: boolean;
}

export interface BinaryTarget extends TargetBase {
  readonly kind: 'binary';
  /** Limit in bytes. */
  readonly maxBytes: number;
  /** BINARY(n): the server pads shorter values with zero bytes. */
  readonly fixed: boolean;
}

export interface TemporalTarget extends TargetBase {
  readonly kind: 'datetime' | 'timestamp' | 'time';
  /** Fractional second digits, 0..6. */
  readonly fsp: number;
}

export interface EnumTarget extends TargetBase {
  readonly kind: 'enum';
  readonly labels: readonly string[];
}

export interface BitTarget extends TargetBase {
  readonly kind: 'bit';
  /** BIT(n): n, 1..64. */
  readonly bits: number;
}

interface JsonTarget extends TargetBase {
  readonly kind: 'json';
}

export interface DateTarget extends TargetBase {
  readonly kind: 'date';
}

/** YEAR: 1901..2155, and 0 (printed 0000). */
export interface YearTarget extends TargetBase {
  readonly kind: 'year';
}

/** SET, geometry, MariaDB's UUID/INET types, …: nothing converts into these. */
interface UnsupportedTarget extends TargetBase {
  readonly kind: 'unsupported';
}

/** A target column, classified once at compile time so conversions never look at type names. */
export type TargetSpec =
  | IntegerTarget
  | DecimalTarget
  | FloatTarget
  | StringTarget
  | BinaryTarget
  | TemporalTarget
  | EnumTarget
  | BitTarget
  | JsonTarget
  | DateTarget
  | YearTarget
  | UnsupportedTarget;

/** Signed minimum, signed maximum, unsigned maximum. */
const integerRanges: ReadonlyMap<string, readonly [bigint, bigint, bigint]> = new Map([
  ['tinyint', [-128n, 127n, 255n]],
  ['smallint', [-32768n, 32767n, 65535n]],
  ['mediumint', [-8388608n, 8388607n, 16777215n]],
  ['int', [-2147483648n, 2147483647n, 4294967295n]],
  ['integer', [-2147483648n, 2147483647n, 4294967295n]],
  ['bigint', [-9223372036854775808n, 9223372036854775807n, 18446744073709551615n]],
]);

/** The TEXT and BLOB types hold at most this many bytes, whatever CHARACTER_MAXIMUM_LENGTH says. */
const byteLimits: ReadonlyMap<string, number> = new Map([
  ['tinytext', 255],
  ['text', 65_535],
  ['mediumtext', 16_777_215],
  ['longtext', 4_294_967_295],
  ['tinyblob', 255],
  ['blob', 65_535],
  ['mediumblob', 16_777_215],
  ['longblob', 4_294_967_295],
]);

type Classify = (column: TargetColumn, base: TargetBase, dataType: string) => TargetSpec;

const decimalTarget: Classify = (column, base) => ({
  ...base,
  kind: 'decimal',
  precision: column.precision ?? 10,
  scale: column.scale ?? 0,
  unsigned: column.unsigned,
});

const floatTarget: Classify = (column, base, dataType) => ({
  ...base,
  kind: 'float',
  single: dataType === 'float',
  unsigned: column.unsigned,
  fixed:
    column.scale !== null && column.precision !== null
      ? { precision: column.precision, scale: column.scale }
      : undefined,
});

const charTarget: Classify = (column, base, dataType) => ({
  ...base,
  kind: 'string',
  maxChars: column.maxLength ?? 0,
  maxBytes: null,
  padded: dataType === 'char',
});

const textTarget: Classify = (_column, base, dataType) => ({
  ...base,
  kind: 'string',
  maxChars: null,
  maxBytes: byteLimits.get(dataType)!,
  padded: false,
});

const binaryTarget: Classify = (column, base, dataType) => ({
  ...base,
  kind: 'binary',
  maxBytes: column.maxLength ?? 0,
  fixed: dataType === 'binary',
});

const blobTarget: Classify = (_column, base, dataType) => ({
  ...base,
  kind: 'binary',
  maxBytes: byteLimits.get(dataType)!,
  fixed: false,
});

const temporalTarget: Classify = (column, base, dataType) => ({
  ...base,
  kind: dataType as TemporalTarget['kind'],
  fsp: Math.max(0, Math.min(6, column.datetimePrecision ?? 0)),
});

/** Every DATA_TYPE that is neither JSON nor an integer, classified. */
const classifiers: ReadonlyMap<string, Classify> = new Map<string, Classify>([
  ['decimal', decimalTarget],
  ['numeric', decimalTarget],
  ['float', floatTarget],
  ['double', floatTarget],
  ['real', floatTarget],
  ['double precision', floatTarget],
  ['char', charTarget],
  ['varchar', charTarget],
  ['tinytext', textTarget],
  ['text', textTarget],
  ['mediumtext', textTarget],
  ['longtext', textTarget],
  ['binary', binaryTarget],
  ['varbinary', binaryTarget],
  ['tinyblob', blobTarget],
  ['blob', blobTarget],
  ['mediumblob', blobTarget],
  ['longblob', blobTarget],
  ['date', (_column, base) => ({ ...base, kind: 'date' })],
  ['year', (_column, base) => ({ ...base, kind: 'year' })],
  ['datetime', temporalTarget],
  ['timestamp', temporalTarget],
  ['time', temporalTarget],
  [
    'enum',
    (column, base) => ({
      ...base,
      kind: 'enum',
      labels: column.enumValues ?? enumLabels(column.columnType),
    }),
  ],
  [
    'bit',
    (column, base) => ({
      ...base,
      kind: 'bit',
      bits: Math.max(1, Math.min(64, column.precision ?? 1)),
    }),
  ],
]);

/** Classifies a MySQL/MariaDB column for conversion, from its information_schema facts. */
export function describeTarget(column: TargetColumn): TargetSpec {
  const dataType = column.dataType.toLowerCase();
  const columnType = column.columnType.toLowerCase();
  const base = { column, label: column.isJson ? 'json' : columnType };
  if (column.isJson || dataType === 'json') return { ...base, kind: 'json' };
  const range = integerRanges.get(dataType);
  if (range !== undefined) {
    return {
      ...base,
      kind: 'integer',
      min: column.unsigned ? 0n : range[0],
      max: column.unsigned ? range[2] : range[1],
      asString: dataType === 'bigint',
      isBoolean: dataType === 'tinyint' && columnType.startsWith('tinyint(1)'),
    };
  }
  const classify = classifiers.get(dataType);
  return classify === undefined
    ? { ...base, kind: 'unsupported' }
    : classify(column, base, dataType);
}

/**
 * ENUM labels from a COLUMN_TYPE such as `enum('a','it''s')`, for callers that left enumValues
 * out. Only right when COLUMN_TYPE kept the labels' case, as information_schema gives it.
 */
function enumLabels(columnType: string): readonly string[] {
  const labels: string[] = [];
  for (const match of columnType.matchAll(/'((?:[^']|'')*)'/g))
    labels.push(match[1]!.replace(/''/g, "'"));
  return labels;
}
