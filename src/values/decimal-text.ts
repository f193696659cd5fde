/**
 * Exact decimal arithmetic on digit strings. Numbers never pass through a float here: a
 * numeric(38,10) must reach DECIMAL(38,10) digit for digit.
 */

/** A finite decimal: (negative ? -1 : 1) × digits × 10^exponent. */
export interface Decimal {
  readonly negative: boolean;
  /** Significant digits without leading or trailing zeros; '' for zero. */
  readonly digits: string;
  readonly exponent: number;
}

/** A decimal rounded to a fixed number of fractional digits. */
interface ScaledDecimal {
  /** Never true for zero, so -0.001 rounded to 2 places is 0.00, as MySQL stores it. */
  readonly negative: boolean;
  /** Integer digits without leading zeros; '' when the integer part is zero. */
  readonly integer: string;
  /** Exactly `scale` digits. */
  readonly fraction: string;
}

const decimalSyntax = /^[ \t\n\r]*([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?[ \t\n\r]*$/;

/** Exponents beyond this are clamped: far outside any column, yet safe to add digit counts to. */
const exponentLimit = 1e9;

/**
 * Parses a decimal number: optional sign, digits with an optional point, optional exponent,
 * surrounding ASCII whitespace. Returns undefined for anything else (NaN, Infinity, hex, '').
 */
export function parseDecimal(text: string): Decimal | undefined {
  const match = decimalSyntax.exec(text);
  if (match === null) return undefined;
  const whole = match[2]!;
  const fraction = match[3] ?? '';
  if (whole.length === 0 && fraction.length === 0) return undefined;
  const written = match[4] === undefined ? 0 : Number(match[4]);
  let exponent = Math.max(-exponentLimit, Math.min(exponentLimit, written)) - fraction.length;
  const all = whole + fraction;
  let start = 0;
  while (start < all.length && all.charCodeAt(start) === 48) start++;
  let end = all.length;
  while (end > start && all.charCodeAt(end - 1) === 48) {
    end--;
    exponent++;
  }
  const digits = all.slice(start, end);
  if (digits.length === 0) return { negative: false, digits, exponent: 0 };
  return { negative: match[1] === '-', digits, exponent };
}

/**
 * Rounds half away from zero (as MySQL rounds into DECIMAL) to `scale` fractional digits.
 * Returns undefined when more than `maxIntegerDigits` integer digits remain.
 */
export function roundToScale(
  value: Decimal,
  scale: number,
  maxIntegerDigits: number,
): ScaledDecimal | undefined {
  const { digits, exponent } = value;
  if (digits.length === 0) return { negative: false, integer: '', fraction: '0'.repeat(scale) };
  // Checked before building strings: '1e999999' must not allocate a million zeros.
  if (digits.length + exponent > maxIntegerDigits) return undefined;
  const shift = exponent + scale;
  let scaled: string;
  if (shift >= 0) {
    scaled = digits + '0'.repeat(shift);
  } else {
    const drop = -shift;
    const kept = drop < digits.length ? digits.slice(0, digits.length - drop) : '';
    const firstDropped = drop <= digits.length ? digits.charCodeAt(digits.length - drop) : 48;
    scaled = firstDropped >= 53 ? incrementDigits(kept) : kept;
  }
  if (scaled.length === 0) return { negative: false, integer: '', fraction: '0'.repeat(scale) };
  const integer = scaled.length > scale ? scaled.slice(0, scaled.length - scale) : '';
  if (integer.length > maxIntegerDigits) return undefined;
  const fraction =
    scaled.length >= scale ? scaled.slice(scaled.length - scale) : scaled.padStart(scale, '0');
  return { negative: value.negative, integer, fraction };
}

/** `-12.50`, `0.00`, `7`: the form MySQL prints a DECIMAL of that scale in. */
export function formatScaled(value: ScaledDecimal): string {
  const sign = value.negative ? '-' : '';
  const integer = value.integer.length === 0 ? '0' : value.integer;
  return value.fraction.length === 0 ? sign + integer : `${sign}${integer}.${value.fraction}`;
}

/** Whether two decimals denote the same number. */
export function sameDecimal(a: Decimal, b: Decimal): boolean {
  return a.negative === b.negative && a.digits === b.digits && a.exponent === b.exponent;
}

/** The exact decimal value of a finite double (mantissa × 2^exponent, expanded with BigInt). */
export function decimalOfDouble(double: number): Decimal {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, double);
  const bits = view.getBigUint64(0);
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  const mantissa = biased === 0 ? fraction : fraction | (1n << 52n);
  const exponent = (biased === 0 ? 1 : biased) - 1075;
  const sign = double < 0 ? '-' : '';
  // m × 2^-k = m × 5^k × 10^-k
  const text =
    exponent >= 0
      ? `${sign}${mantissa << BigInt(exponent)}`
      : `${sign}${mantissa * 5n ** BigInt(-exponent)}e${exponent}`;
  return parseDecimal(text)!;
}

/**
 * Rounds to `significant` digits, ties to even: how the servers' printf-style float output
 * rounds (JavaScript's toPrecision sends ties up instead).
 */
export function roundSignificant(value: Decimal, significant: number): Decimal {
  const { digits } = value;
  if (digits.length <= significant) return value;
  let kept = digits.slice(0, significant);
  const rest = digits.slice(significant);
  const first = rest.charCodeAt(0);
  const tie = first === 53 && rest.length === 1;
  const odd = (kept.charCodeAt(kept.length - 1) - 48) % 2 === 1;
  if (first > 53 || (first === 53 && (!tie || odd))) kept = incrementDigits(kept);
  return parseDecimal(`${value.negative ? '-' : ''}${kept}e${value.exponent + rest.length}`)!;
}

/** Adds one to a string of decimal digits ('' counts as 0). */
function incrementDigits(digits: string): string {
  let i = digits.length - 1;
  while (i >= 0 && digits.charCodeAt(i) === 57) i--;
  if (i < 0) return '1' + '0'.repeat(digits.length);
  return (
    digits.slice(0, i) +
    String.fromCharCode(digits.charCodeAt(i) + 1) +
    '0'.repeat(digits.length - i - 1)
  );
}
