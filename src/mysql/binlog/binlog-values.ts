/**
 * Turns the values the binlog decoder hands out into MySQL's text form: exactly what a `SELECT`
 * of the column prints over the text protocol, so the return path converts the same text that a
 * backfill or an audit reads. Binary values become PostgreSQL's bytea hex form (`\x…`).
 *
 * Each rendering below that is not the identity repairs a value family the decoder gets wrong or
 * hands out in a non-text form; the comment says which and why.
 */

/** MySQL's column type codes, as they appear in a table map event. */
const columnType = Object.freeze({
  float: 4,
  double: 5,
  year: 13,
  bit: 16,
  enum: 247,
  geometry: 255,
});

/** One column as the decoder describes it: the wire type code and its declared SQL type. */
export interface ValueColumn {
  readonly name: string;
  /** The binlog's type code (ENUM and SET already resolved from their STRING carrier). */
  readonly typeCode: number;
  /** The declared type, e.g. `decimal(12,4)`, `enum('a','b')`, `bit(10)`. */
  readonly declaredType: string;
}

/** The rendering for one column: decoder value in, text form (or null) out. */
export type ValueRenderer = (value: unknown) => string | null;

export class UnsupportedValueError extends Error {}

/**
 * The renderer for a column, chosen once per table map so a row costs one call per column.
 * Throws UnsupportedValueError for a family with no exact text form from the binlog.
 */
export function valueRenderer(column: ValueColumn): ValueRenderer {
  switch (column.typeCode) {
    case columnType.float:
      return (value) => (value == null ? null : formatMysqlFloat(value as number, 6));
    case columnType.double:
      return (value) => (value == null ? null : formatMysqlFloat(value as number, undefined));
    case columnType.bit:
      // The decoder hands out the raw bytes; a SELECT would print them as a binary string that no
      // text column can hold. The contract's text form for BIT is its unsigned value in decimal
      // (what `SELECT col + 0` prints), exact up to BIT(64).
      return (value) => (value == null ? null : bitDecimal(value as Buffer));
    case columnType.year:
      // YEAR stores 0 for the year '0000' and 1..255 for 1901..2155; the decoder adds 1900 to
      // every stored byte, so the zero year comes out as 1900, which is no valid YEAR.
      return (value) => (value == null ? null : value === 1900 ? '0000' : String(value));
    case columnType.enum:
      // The empty string MySQL stores for an invalid value (index 0) has no label; the decoder
      // answers undefined for it. SELECT prints ''.
      return (value) => (value === null ? null : ((value as string | undefined) ?? ''));
    case columnType.geometry:
      throw new UnsupportedValueError(
        `column '${column.name}' is ${column.declaredType}: spatial values are not read from the binlog; leave the table out of to-crm mappings`,
      );
    default:
      return renderPlain;
  }
}

/** Integers, DECIMAL (exact text from the decoder), temporals (text), strings, binary strings. */
function renderPlain(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  throw new UnsupportedValueError(`unexpected decoded value of type ${typeof value}`);
}

function bitDecimal(bytes: Buffer): string {
  return bytes.length === 0 ? '0' : BigInt(`0x${bytes.toString('hex')}`).toString();
}

/**
 * A FLOAT or DOUBLE as MariaDB prints it. The decoder hands out a JS number, and a FLOAT's is
 * the single-precision value widened (1.1 comes out as 1.100000023841858): MariaDB prints FLOAT
 * with 6 significant digits and DOUBLE with the shortest digits that read back to the same
 * double; positionally for decimal exponents -15..14 (and above that when a fraction remains),
 * as `1.5e-16` / `1e15` otherwise.
 * `significant`: digits to round to (FLOAT), or undefined for shortest (DOUBLE).
 */
export function formatMysqlFloat(value: number, significant: number | undefined): string {
  if (value === 0) return '0';
  const scientific =
    significant === undefined
      ? value.toExponential()
      : roundHalfEven(value, significant).toExponential();
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(scientific);
  if (!match) return String(value);
  const [, sign = '', lead = '', rest = '', exponentText = '0'] = match;
  const digits = (lead + rest).replace(/0+$/, '') || '0';
  const exponent = Number(exponentText);
  // Like printf's %g for large integers, positional only up to 15 digits; a larger number
  // with a fraction stays positional (-1688425110957276.8).
  if (exponent < -15 || (exponent > 14 && digits.length <= exponent + 1)) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${exponent}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  if (digits.length <= exponent + 1)
    return `${sign}${digits}${'0'.repeat(exponent + 1 - digits.length)}`;
  return `${sign}${digits.slice(0, exponent + 1)}.${digits.slice(exponent + 1)}`;
}

/**
 * `value` rounded to `significant` digits the way MariaDB's dtoa rounds: an exact tie goes to
 * the even digit (a FLOAT of -42404.25 prints -42404.2), where toPrecision rounds it away from
 * zero. 100 digits hold the exact decimal expansion of any FLOAT.
 */
function roundHalfEven(value: number, significant: number): number {
  const exact = /^(-?)(\d)\.(\d+)e([+-]\d+)$/.exec(value.toExponential(99));
  if (exact) {
    const [, sign = '', lead = '', rest = '', exponent = '0'] = exact;
    const digits = lead + rest;
    const tie = digits[significant] === '5' && /^0*$/.test(digits.slice(significant + 1));
    if (tie && Number(digits[significant - 1]) % 2 === 0) {
      return Number(`${sign}${lead}.${digits.slice(1, significant)}e${exponent}`);
    }
  }
  return Number(value.toPrecision(significant));
}
