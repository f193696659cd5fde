import type { TargetColumn } from './column-types.js';
import {
  decimalOfDouble,
  formatScaled,
  parseDecimal,
  roundSignificant,
  roundToScale,
} from './decimal-text.js';
import { stringifySorted } from './json-text.js';
import { describeTarget, type FloatTarget, type TargetSpec } from './target-spec.js';
import { formatTime, fractionPart } from './temporal-text.js';

/** A value in the form the audit compares: equal strings ⇔ the same stored value. */
export type Canonicalizer = (value: unknown) => string | null;

/**
 * Accepts both a TargetValue produced by a Conversion and the value as read back by mysql2 with
 * parseTargetUrl()'s options (strings for DECIMAL/BIGINT/DATETIME, numbers for small ints,
 * Buffer for binary, JSON as text) and returns the same string when they denote the same stored
 * value. null and undefined give null.
 *
 * Forms: integers and booleans as plain decimal strings; DECIMAL with exactly the column's
 * scale; FLOAT as the float32 value to 6 significant digits and DOUBLE to 15 (what the server
 * may print, and what survives its text protocol); DATETIME/TIMESTAMP/TIME at the column's
 * precision, extra digits truncated as conversions truncate them; CHAR without trailing
 * spaces (MySQL drops them); JSON re-serialised with sorted keys and numbers as doubles, so
 * MySQL 8's reformatting (`1.0`, reordered keys) and MariaDB's verbatim text agree; binary as
 * lower-case hex, BINARY(n) zero-padded to n bytes; BIT as the decimal value of its bits.
 *
 * JSON already parsed by mysql2 (what it does to MariaDB's JSON columns unless the connection
 * sets `jsonStrings`) is accepted too, but a top-level JSON null then looks like SQL NULL and a
 * top-level string whose content is JSON text looks like that document: read JSON as text.
 */
export function compileCanonical(target: TargetColumn): Canonicalizer {
  const canonical = canonicalFor(describeTarget(target));
  return (value) => (value === null || value === undefined ? null : canonical(value));
}

function canonicalFor(target: TargetSpec): (value: unknown) => string {
  switch (target.kind) {
    case 'integer':
    case 'year':
      return canonicalInteger;
    case 'bit':
      return (value) => (Buffer.isBuffer(value) ? bitsValue(value) : canonicalInteger(value));
    case 'decimal':
      return canonicalDecimal(target.scale);
    case 'float':
      return canonicalFloat(target);
    case 'string':
      return target.padded ? (value) => asText(value).replace(/ +$/, '') : asText;
    case 'enum':
      return asText;
    case 'json':
      return canonicalJson;
    case 'date':
      return canonicalDate;
    case 'datetime':
    case 'timestamp':
      return canonicalDateTime(target.fsp);
    case 'time':
      return canonicalTime(target.fsp);
    case 'binary': {
      const width = target.fixed ? target.maxBytes * 2 : 0;
      return (value) => {
        const bytes = Buffer.isBuffer(value) ? value : Buffer.from(asText(value), 'utf8');
        return bytes.toString('hex').padEnd(width, '0');
      };
    }
    case 'unsupported':
      return (value) => (Buffer.isBuffer(value) ? value.toString('hex') : asText(value));
  }
}

function canonicalDecimal(scale: number): (value: unknown) => string {
  return (value) => {
    const text = asText(value);
    const decimal = parseDecimal(text);
    const rounded = decimal === undefined ? undefined : roundToScale(decimal, scale, maxDigits);
    return rounded === undefined ? text : formatScaled(rounded);
  };
}

function canonicalFloat({ single, fixed }: FloatTarget): (value: unknown) => string {
  return (value) => {
    const number = typeof value === 'number' ? value : Number(asText(value));
    if (!Number.isFinite(number)) return asText(value);
    let stored = single ? Math.fround(number) : number;
    if (fixed !== undefined) stored = Number(stored.toFixed(fixed.scale));
    if (stored === 0) return '0';
    const rounded = roundSignificant(decimalOfDouble(stored), single ? 6 : 15);
    return String(Number(`${rounded.negative ? '-' : ''}${rounded.digits}e${rounded.exponent}`));
  };
}

function canonicalJson(value: unknown): string {
  // mysql2 parses MariaDB's JSON columns unless the connection sets jsonStrings: a parsed
  // document arrives as an object, array, number, boolean, or a string that is not JSON.
  if (typeof value !== 'string' && !Buffer.isBuffer(value)) return stringifySorted(value);
  const text = asText(value);
  try {
    return stringifySorted(JSON.parse(text));
  } catch {
    return JSON.stringify(text);
  }
}

function canonicalDate(value: unknown): string {
  if (value instanceof Date) return value.toISOString().slice(0, 10);
  const text = asText(value);
  return /^\d{4}-\d{2}-\d{2}/.test(text) ? text.slice(0, 10) : text;
}

function canonicalDateTime(fsp: number): (value: unknown) => string {
  return (value) => {
    const text = value instanceof Date ? value.toISOString() : asText(value);
    const match = dateTimeForm.exec(text);
    if (match === null) return text;
    return `${match[1]} ${match[2] ?? '00:00:00'}${fractionPart(match[3] ?? '', fsp)}`;
  };
}

function canonicalTime(fsp: number): (value: unknown) => string {
  return (value) => {
    const text = asText(value);
    const match = timeForm.exec(text);
    if (match === null) return text;
    return formatTime(
      {
        negative: match[1] === '-',
        hour: Number(match[2]),
        minute: Number(match[3]),
        second: Number(match[4]),
        fraction: match[5] ?? '',
      },
      fsp,
    );
  };
}

/** Beyond any column (DECIMAL has at most 65 digits): longer spellings are compared as text. */
const maxDigits = 1000;
const dateTimeForm = /^(\d{4,}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2}:\d{2})(?:\.(\d+))?)?/;
const timeForm = /^(-?)(\d+):(\d{2}):(\d{2})(?:\.(\d+))?$/;
const plainInteger = /^-?(?:0|[1-9]\d*)$/;

function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return String(value);
}

function canonicalInteger(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'boolean') return value ? '1' : '0';
  const text = asText(value);
  if (plainInteger.test(text) && text !== '-0') return text;
  const decimal = parseDecimal(text);
  const rounded = decimal === undefined ? undefined : roundToScale(decimal, 0, maxDigits);
  return rounded === undefined ? text : formatScaled(rounded);
}

/** BIT(n) comes back as big-endian bytes. */
function bitsValue(bytes: Buffer): string {
  return bytes.length === 0 ? '0' : BigInt(`0x${bytes.toString('hex')}`).toString();
}
