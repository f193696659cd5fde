import { decimalOfDouble, parseDecimal, sameDecimal } from './decimal-text.js';

const shortPlainNumber = /^-?(?:0|[1-9]\d{0,14})(?:\.\d{1,14})?$/;
const jsonNumberSyntax = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

/**
 * A number's text as a JSON fragment: a JSON number when a double holds its decimal value
 * without loss, i.e. the nearest double either is exactly that value (2^60, 0.5, and
 * PostgreSQL's exact 17-digit float8 output) or prints back as that value (0.1, 1.50, 1e+100):
 * MySQL 8, which keeps JSON numbers as doubles or 64-bit integers, and any JSON reader then get
 * the same number. Otherwise a JSON string of the text, so 12345678901234567891,
 * 3.14159265358979323846, NaN and infinities (which JSON cannot spell) arrive unchanged.
 */
export function jsonNumber(text: string): string {
  // Up to 15 significant digits without exponent always survive a double (DBL_DIG).
  if (text.length <= 16 && shortPlainNumber.test(text)) return text;
  if (!jsonNumberSyntax.test(text)) return JSON.stringify(text);
  const written = parseDecimal(text);
  const double = Number(text);
  if (written === undefined || !Number.isFinite(double)) return JSON.stringify(text);
  const shortest = parseDecimal(String(double));
  if (shortest !== undefined && sameDecimal(written, shortest)) return text;
  return sameDecimal(written, decimalOfDouble(double)) ? text : JSON.stringify(text);
}

/**
 * A JSON value serialised with object keys sorted (by UTF-16 code units) and numbers in their
 * shortest double form: MySQL 8 reorders keys and reformats numbers (1.0, 1e2), MariaDB keeps
 * the text as written, and both come out the same here.
 */
export function stringifySorted(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(stringifySorted).join(',')}]`;
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  return `{${keys.map((key) => `${JSON.stringify(key)}:${stringifySorted(record[key])}`).join(',')}}`;
}

/** A text as a JSON string. */
export function jsonString(text: string): string {
  return JSON.stringify(text);
}
