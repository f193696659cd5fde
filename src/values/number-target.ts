import type { TextConverter } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { type Decimal, formatScaled, parseDecimal, roundToScale } from './decimal-text.js';
import { failValue } from './fail-value.js';
import type {
  BitTarget,
  DecimalTarget,
  FloatTarget,
  IntegerTarget,
  YearTarget,
} from './target-spec.js';

export type NumberTarget = IntegerTarget | DecimalTarget | FloatTarget | BitTarget | YearTarget;

/** Largest finite IEEE single: MySQL rejects a FLOAT above it rather than rounding down. */
export const floatMax = 3.4028234663852886e38;

const notANumber = /^\s*[+-]?nan\s*$/i;
const infinite = /^\s*[+-]?inf(inity)?\s*$/i;

/** The builder of a plan whose values go through compileNumberTarget. */
export function buildNumberTarget(target: NumberTarget): (site: ConversionSite) => TextConverter {
  return (site) => compileNumberTarget(target, site);
}

/**
 * A converter from any decimal text (`-12.5`, `1e+20`, ` 7 `) to a numeric column: integers
 * and DECIMAL are rounded half away from zero exactly (digit strings, no floats), FLOAT/DOUBLE
 * parsed to the nearest double. NaN, infinities, values out of the column's range and negative
 * values for UNSIGNED columns are rejected, never clamped.
 */
export function compileNumberTarget(target: NumberTarget, site: ConversionSite): TextConverter {
  const parse = (text: string): Decimal => {
    const value = parseDecimal(text);
    if (value !== undefined) return value;
    if (notANumber.test(text))
      failValue(site, 'VALUE_INVALID', text, `is not a number; ${target.label} cannot hold NaN`);
    if (infinite.test(text))
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `is infinite; ${target.label} cannot hold it`);
    return failValue(site, 'VALUE_INVALID', text, `is not a number; ${target.label} needs one`);
  };
  /** A number for a DECIMAL or FLOAT column: an UNSIGNED one refuses negatives. */
  const parseSigned = (text: string, unsigned: boolean): Decimal => {
    const value = parse(text);
    if (unsigned && value.negative)
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `is negative; ${target.label} cannot hold it`);
    return value;
  };
  /** `value` rounded to `scale` decimals, refused when more than `integerDigits` remain. */
  const fitScale = (value: Decimal, text: string, scale: number, integerDigits: number) =>
    roundToScale(value, scale, integerDigits) ??
    failValue(
      site,
      'VALUE_OUT_OF_RANGE',
      text,
      `does not fit ${target.label} (at most ${integerDigits} integer digits)`,
    );
  switch (target.kind) {
    case 'integer':
    case 'year':
    case 'bit':
      return compileIntegral(target, site, parse);
    case 'decimal': {
      const { precision, scale, unsigned } = target;
      return (text) =>
        formatScaled(fitScale(parseSigned(text, unsigned), text, scale, precision - scale));
    }
    case 'float': {
      const { single, unsigned, fixed } = target;
      const limit = single ? floatMax : Number.MAX_VALUE;
      return (text) => {
        const value = parseSigned(text, unsigned);
        const number = Number(text);
        if (!(Math.abs(number) <= limit)) {
          failValue(
            site,
            'VALUE_OUT_OF_RANGE',
            text,
            `is out of range for ${target.label} (at most ±${limit.toPrecision(6)})`,
          );
        }
        if (fixed !== undefined) fitScale(value, text, fixed.scale, fixed.precision - fixed.scale);
        // -0 would be stored as such by MariaDB; the same number bound as 0 keeps outputs plain.
        return number === 0 ? 0 : number;
      };
    }
  }
}

function compileIntegral(
  target: IntegerTarget | BitTarget | YearTarget,
  site: ConversionSite,
  parse: (text: string) => Decimal,
): TextConverter {
  const [min, max] = integralRange(target);
  const range = target.kind === 'year' ? '0 or 1901..2155' : `${min}..${max}`;
  const outOfRange = (text: string): never =>
    failValue(site, 'VALUE_OUT_OF_RANGE', text, `is out of range for ${target.label} (${range})`);
  const toBigInt = (text: string): bigint => {
    const value = parse(text);
    if (value.negative && min >= 0n) outOfRange(text);
    // 20 digits hold every int64 and uint64; anything longer is out of range anyway.
    const rounded = roundToScale(value, 0, 20) ?? outOfRange(text);
    const integer = BigInt(rounded.integer || '0');
    const signed = rounded.negative ? -integer : integer;
    if (signed < min || signed > max) outOfRange(text);
    if (target.kind === 'year' && signed !== 0n && signed < 1901n) outOfRange(text);
    return signed;
  };
  if (target.kind === 'bit') {
    const bytes = Math.ceil(target.bits / 8);
    // A Buffer, because the server reads a string bound to BIT as raw bytes, not as a number.
    return (text) =>
      Buffer.from(
        toBigInt(text)
          .toString(16)
          .padStart(bytes * 2, '0'),
        'hex',
      );
  }
  const fastMin = Number(min);
  const fastMax = target.kind === 'year' ? -1 : Number(max);
  if (target.kind === 'integer' && target.asString) {
    return (text) => {
      const value = parseShortInteger(text);
      return value >= fastMin && value <= fastMax ? text : toBigInt(text).toString();
    };
  }
  return (text) => {
    // Plain integers skip the decimal parser; YEAR (fastMax -1) always takes it for its gap.
    const value = parseShortInteger(text);
    return value >= fastMin && value <= fastMax ? value : Number(toBigInt(text));
  };
}

/** The accepted range of an integer-like column. YEAR also takes 0, checked apart. */
function integralRange(target: IntegerTarget | BitTarget | YearTarget): readonly [bigint, bigint] {
  if (target.kind === 'integer') return [target.min, target.max];
  if (target.kind === 'bit') return [0n, (1n << BigInt(target.bits)) - 1n];
  return [0n, 2155n];
}

/**
 * The value of `0` or `-?[1-9][0-9]{0,14}` (PostgreSQL's integer output), NaN for anything else.
 * 15 digits stay exact in a double; longer values go the exact way.
 */
export function parseShortInteger(text: string): number {
  const length = text.length;
  let i = 0;
  let negative = false;
  if (length > 1 && text.charCodeAt(0) === 45) {
    negative = true;
    i = 1;
  }
  const digits = length - i;
  if (digits === 0 || digits > 15) return Number.NaN;
  let value = text.charCodeAt(i) - 48;
  if (value < 1 || value > 9) return digits === 1 && value === 0 && !negative ? 0 : Number.NaN;
  for (i++; i < length; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return Number.NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}
