import type { SourceType } from './column-types.js';

export type SourceFamily =
  | 'integer'
  | 'numeric'
  | 'float'
  | 'boolean'
  | 'text'
  | 'date'
  | 'timestamp'
  | 'timestamptz'
  | 'time'
  | 'timetz'
  | 'uuid'
  | 'json'
  | 'array'
  | 'bytea'
  | 'enum'
  | 'other';

/** A source type, classified once at compile time. */
export interface SourceSpec {
  readonly family: SourceFamily;
  /** pg_type.typname, or `text` for a derived value. */
  readonly name: string;
  /** How messages name the type: `numeric(18,6)`, `varchar(100)`, `text[]`, `derived text`. */
  readonly label: string;
  /** A value computed by the mapping (map, template, transform, const, JSON path). */
  readonly derived: boolean;
  /** Longest possible text form in characters; undefined when unbounded or unknown. */
  readonly maxChars: number | undefined;
  /** integer: the type's range. */
  readonly range?: readonly [bigint, bigint];
  /** numeric(p,s): both undefined when unconstrained. */
  readonly precision?: number;
  readonly scale?: number;
  /** timestamp/time: fractional second digits kept (6 unless declared). */
  readonly fsp: number;
  /** char(n): PostgreSQL pads with spaces that its cast to text drops; so do we. */
  readonly trimTrailingSpaces: boolean;
  /** Arrays: the element type, and the delimiter of its literal (`;` for box, else `,`). */
  readonly element?: SourceSpec;
  readonly delimiter?: string;
}

const integerRanges: ReadonlyMap<string, readonly [bigint, bigint]> = new Map([
  ['int2', [-32768n, 32767n]],
  ['int4', [-2147483648n, 2147483647n]],
  ['int8', [-9223372036854775808n, 9223372036854775807n]],
  ['oid', [0n, 4294967295n]],
]);

const fixedFamilies: ReadonlyMap<string, SourceFamily> = new Map([
  ['numeric', 'numeric'],
  ['float4', 'float'],
  ['float8', 'float'],
  ['bool', 'boolean'],
  ['date', 'date'],
  ['timestamp', 'timestamp'],
  ['timestamptz', 'timestamptz'],
  ['time', 'time'],
  ['timetz', 'timetz'],
  ['uuid', 'uuid'],
  ['json', 'json'],
  ['jsonb', 'json'],
  ['bytea', 'bytea'],
]);

const sqlNames: ReadonlyMap<string, string> = new Map([
  ['int2', 'smallint'],
  ['int4', 'integer'],
  ['int8', 'bigint'],
  ['float4', 'real'],
  ['float8', 'double precision'],
  ['bool', 'boolean'],
  ['bpchar', 'char'],
]);

/**
 * Longest text form in characters of the fixed-size types (timestamps with ` BC` and the
 * widest offset, floats with exponent), so `mappings check` can tell whether a text column fits.
 */
const maxTextLengths: ReadonlyMap<string, number> = new Map([
  ['int2', 6],
  ['int4', 11],
  ['int8', 20],
  ['oid', 10],
  ['float4', 15],
  ['float8', 24],
  ['bool', 5],
  ['date', 13],
  ['timestamp', 29],
  ['timestamptz', 38],
  ['time', 15],
  ['timetz', 24],
  ['uuid', 36],
  ['char', 1],
  ['name', 63],
  ['inet', 43],
  ['cidr', 43],
  ['macaddr', 17],
  ['macaddr8', 23],
]);

/** `int2vector` and `oidvector` are arrays whose text form is space-separated, not `{…}`. */
const vectorTypes = new Set(['int2vector', 'oidvector']);

/** Classifies a source type (or `text` for a derived value) for conversion. */
export function describeSource(source: SourceType | 'text'): SourceSpec {
  if (source === 'text') {
    return {
      family: 'text',
      name: 'text',
      label: 'derived text',
      derived: true,
      maxChars: undefined,
      fsp: 6,
      trimTrailingSpaces: false,
    };
  }
  const { name, typmod } = source;
  const family = familyOf(source);
  const base = {
    family,
    name,
    derived: false,
    label: sqlNames.get(name) ?? name,
    maxChars: maxTextLengths.get(name),
    fsp: 6,
    trimTrailingSpaces: name === 'bpchar',
  };
  switch (family) {
    case 'integer':
      return { ...base, range: integerRanges.get(name)! };
    case 'numeric': {
      if (typmod < 4) return base;
      const precision = ((typmod - 4) >> 16) & 0xffff;
      // PostgreSQL 15 allows a negative scale: numeric(3,-2) stores multiples of 100.
      const scale = (((typmod - 4) & 0x7ff) ^ 1024) - 1024;
      const point = scale > 0 ? 1 : 0;
      const zeros = scale < 0 ? -scale : 0;
      // A leading '0', and zeros after the point, when every digit is fractional: numeric(2,3)
      // prints -0.012.
      const lead = scale >= precision ? 1 + scale - precision : 0;
      return {
        ...base,
        label: `numeric(${precision},${scale})`,
        precision,
        scale,
        maxChars: 1 + lead + precision + point + zeros,
      };
    }
    case 'timestamp':
    case 'timestamptz':
    case 'time':
    case 'timetz': {
      if (typmod < 0) return base;
      const fsp = Math.min(6, typmod);
      return { ...base, label: `${name}(${fsp})`, fsp };
    }
    case 'text': {
      if ((name === 'varchar' || name === 'bpchar') && typmod >= 4) {
        return { ...base, label: `${base.label}(${typmod - 4})`, maxChars: typmod - 4 };
      }
      return base;
    }
    case 'array': {
      const element = describeSource({ name: source.elementName!, oid: 0, category: '', typmod });
      return {
        ...base,
        label: `${element.label}[]`,
        maxChars: undefined,
        element,
        delimiter: source.elementName === 'box' ? ';' : ',',
      };
    }
    case 'other': {
      if ((name === 'bit' || name === 'varbit') && typmod >= 0)
        return { ...base, label: `${name}(${typmod})`, maxChars: typmod };
      return base;
    }
    case 'enum':
      // Labels are at most 63 bytes (NAMEDATALEN), so at most 63 characters.
      return { ...base, maxChars: 63 };
    default:
      return base;
  }
}

function familyOf(source: SourceType): SourceFamily {
  const { name, category } = source;
  if (integerRanges.has(name)) return 'integer';
  const fixed = fixedFamilies.get(name);
  if (fixed !== undefined) return fixed;
  if (category === 'E') return 'enum';
  if (category === 'A' && source.elementName !== undefined && !vectorTypes.has(name))
    return 'array';
  if (category === 'S') return 'text';
  return 'other';
}
