import type { MesColumn, SourceType } from '../values/column-types.js';

/**
 * How a filter compares values of one source column. Every value (the row's text form and the
 * YAML literal) is first turned into a key whose plain string order is the value order, so eq/in
 * become Set lookups and gt/lt one string comparison, whatever the type:
 * - numbers (integer, numeric, float, oid) by value, exactly: no float rounding of 20-digit
 *   numerics; PostgreSQL's order for NaN and ±Infinity;
 * - date, timestamp, timestamptz, time as ISO date/time (timestamptz in UTC);
 * - boolean with false before true;
 * - anything else as text, in code point order (PostgreSQL's "C" collation), not the
 *   database's locale.
 */
export interface ValueOrder {
  /** What the literals must look like, for messages: "a number", "a date like 2024-01-31". */
  readonly expects: string;
  /** The order key of a value's text form; undefined when the text is not of this type. */
  key(text: string): string | undefined;
}

const numericPattern = /^\s*([+-])?(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?\s*$/;
const exponentOffset = 5_000_000;

/** Order key of a decimal number: class, then exponent, then digits (complemented when negative). */
export function numericKey(text: string): string | undefined {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === 'nan') return '5';
  if (trimmed === 'infinity' || trimmed === '+infinity' || trimmed === 'inf' || trimmed === '+inf')
    return '4';
  if (trimmed === '-infinity' || trimmed === '-inf') return '0';
  const match = numericPattern.exec(text);
  if (!match) return undefined;
  const negative = match[1] === '-';
  const whole = match[2] ?? '';
  const fraction = match[3] ?? match[4] ?? '';
  const exponent = Number(match[5] ?? '0');
  const all = whole + fraction;
  const firstDigit = all.search(/[1-9]/);
  if (firstDigit === -1) return '2';
  const digits = all.slice(firstDigit).replace(/0+$/, '');
  // Value = 0.<digits> × 10^magnitude.
  const magnitude = whole.length - firstDigit + exponent;
  if (!negative) return `3${String(magnitude + exponentOffset).padStart(8, '0')}${digits}`;
  let complement = '';
  for (const digit of digits) complement += String(9 - Number(digit));
  // '~' sorts after every digit, so -0.12 (complement "87~") sorts after -0.123 ("876~").
  return `1${String(exponentOffset * 2 - (magnitude + exponentOffset)).padStart(8, '0')}${complement}~`;
}

function pad(value: string | undefined, length: number): string {
  return (value ?? '').padEnd(length, '0');
}

/** Years as a fixed-width, order-preserving prefix; BC years before AD ones. */
function yearKey(year: string, bc: boolean): string {
  const value = Number(year);
  return bc ? `0${String(999_999 - value).padStart(6, '0')}` : `1${String(value).padStart(6, '0')}`;
}

const datePattern = /^(\d{4,6})-(\d\d)-(\d\d)( BC)?$/;
const timestampPattern =
  /^(\d{4,6})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?)?(Z|[+-]\d\d(?::?\d\d(?::?\d\d)?)?)?( BC)?$/i;
const timePattern = /^(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,6}))?)?$/;

function infinityKey(text: string): string | undefined {
  if (text === 'infinity') return '~';
  if (text === '-infinity') return '!';
  return undefined;
}

function dateKey(text: string): string | undefined {
  const match = datePattern.exec(text);
  if (!match) return infinityKey(text);
  return `${yearKey(match[1]!, match[4] !== undefined)}-${match[2]}-${match[3]}`;
}

function timestampKey(text: string, withZone: boolean): string | undefined {
  const match = timestampPattern.exec(text);
  if (!match) return infinityKey(text);
  const [, year, month, day, hour = '00', minute = '00', second = '00', fraction, zone, bc] = match;
  if (zone !== undefined && zone.toUpperCase() !== 'Z' && !withZone) return undefined;
  const offset = zone === undefined || zone.toUpperCase() === 'Z' ? 0 : offsetSeconds(zone);
  if (offset === 0 || bc !== undefined) {
    return `${yearKey(year!, bc !== undefined)}-${month}-${day} ${hour}:${minute}:${second}.${pad(fraction, 6)}`;
  }
  // Whole seconds through Date (exact for them), the fraction carried beside it.
  const utc = new Date(0);
  utc.setUTCFullYear(Number(year), Number(month) - 1, Number(day));
  utc.setUTCHours(Number(hour), Number(minute), Number(second) - offset, 0);
  const iso = utc.toISOString();
  const y = iso.startsWith('+') || iso.startsWith('-') ? iso.slice(1, 7) : iso.slice(0, 4);
  const rest = iso.slice(iso.indexOf('-', 1) + 1, iso.indexOf('.'));
  return `${yearKey(y, false)}-${rest.replace('T', ' ')}.${pad(fraction, 6)}`;
}

function offsetSeconds(zone: string): number {
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(/:/g, '');
  const hours = Number(digits.slice(0, 2));
  const minutes = Number(digits.slice(2, 4) || '0');
  const seconds = Number(digits.slice(4, 6) || '0');
  return sign * (hours * 3600 + minutes * 60 + seconds);
}

function timeKey(text: string): string | undefined {
  const match = timePattern.exec(text);
  if (!match) return undefined;
  return `${match[1]}:${match[2]}:${match[3] ?? '00'}.${pad(match[4], 6)}`;
}

const trueWords = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const falseWords = new Set(['f', 'false', 'n', 'no', 'off', '0']);

function booleanKey(text: string): string | undefined {
  const word = text.trim().toLowerCase();
  if (trueWords.has(word)) return 't';
  if (falseWords.has(word)) return 'f';
  return undefined;
}

const numberTypes = new Set(['int2', 'int4', 'int8', 'numeric', 'float4', 'float8', 'oid']);

/** The order a filter uses for a column of this type. */
export function valueOrder(type: SourceType): ValueOrder {
  if (numberTypes.has(type.name)) return { expects: 'a number', key: numericKey };
  switch (type.name) {
    case 'bool':
      return { expects: 'true or false', key: booleanKey };
    case 'date':
      return { expects: 'a date like 2024-01-31', key: dateKey };
    case 'timestamp':
      return {
        expects: 'a timestamp like 2024-01-31 08:00:00 (no time zone)',
        key: (text) => timestampKey(text, false),
      };
    case 'timestamptz':
      return {
        expects: 'a timestamp like 2024-01-31T08:00:00Z',
        key: (text) => timestampKey(text, true),
      };
    case 'time':
      return { expects: 'a time like 08:30:00', key: timeKey };
    default:
      return { expects: 'a text value', key: (text) => text };
  }
}

/** Code point order (UTF-8 byte order), where JavaScript's `<` uses UTF-16 code units. */
export function compareText(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index++) {
    const x = a.charCodeAt(index);
    const y = b.charCodeAt(index);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** Moves surrogates (astral code points) above U+E000–U+FFFF, where code point order puts them. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

const mesNumberKinds = new Set([
  'tinyint',
  'smallint',
  'mediumint',
  'int',
  'integer',
  'bigint',
  'decimal',
  'numeric',
  'float',
  'double',
  'real',
  'year',
  'bit',
]);

/**
 * The order a filter uses for a MES column (to-crm), on MySQL's text forms: numbers by value,
 * TINYINT(1) as a boolean (its 0/1 and true/false literals), dates and times as ISO text
 * (DATETIME and TIMESTAMP are UTC), everything else as text in code point order.
 */
export function mesValueOrder(column: MesColumn): ValueOrder {
  if (column.dataType === 'tinyint' && column.columnType.startsWith('tinyint(1)'))
    return { expects: 'true or false', key: booleanKey };
  if (mesNumberKinds.has(column.dataType)) return { expects: 'a number', key: numericKey };
  switch (column.dataType) {
    case 'date':
      return { expects: 'a date like 2024-01-31', key: dateKey };
    case 'datetime':
    case 'timestamp':
      return {
        expects: 'a timestamp like 2024-01-31 08:00:00',
        key: (text) => timestampKey(text, true),
      };
    case 'time':
      return { expects: 'a time like 08:30:00', key: timeKey };
    default:
      return { expects: 'a text value', key: (text) => text };
  }
}
