import { type FamilyPlanner, okUnless, type TextConverter, warning } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { buildNumberTarget, compileNumberTarget, parseShortInteger } from './number-target.js';
import type { IntegerTarget } from './target-spec.js';
import { planNumberAsText } from './text-target-plan.js';

/**
 * smallint, integer, bigint, oid. Into integer columns through a fast path (no regex, no
 * allocation) with a range check; into DECIMAL/FLOAT/BIT/YEAR through the exact decimal path;
 * into JSON as numbers (strings beyond 2^53, see jsonNumber); into text as written.
 */
export const planIntegerConversion: FamilyPlanner = (source, target) => {
  const [low, high] = source.range!;
  switch (target.kind) {
    case 'integer': {
      const fits = low >= target.min && high <= target.max;
      return okUnless(
        [fits ? undefined : `values outside ${target.min}..${target.max} are rejected`],
        (site) => compileIntegerToInteger(target, site, fits),
      );
    }
    case 'decimal': {
      const digits = String(high > -low ? high : -low).length;
      return okUnless(
        [
          digits > target.precision - target.scale
            ? `values with more than ${target.precision - target.scale} digits are rejected`
            : undefined,
          target.unsigned && low < 0n ? 'negative values are rejected' : undefined,
        ],
        buildNumberTarget(target),
      );
    }
    case 'float': {
      // A double holds integers exactly up to 2^53, a single up to 2^24.
      const exact = target.single ? 1n << 24n : 1n << 53n;
      return okUnless(
        [
          high > exact || -low > exact ? `integers beyond ${exact} lose precision` : undefined,
          target.unsigned && low < 0n ? 'negative values are rejected' : undefined,
          target.fixed === undefined
            ? undefined
            : `values with more than ${target.fixed.precision - target.fixed.scale} digits are rejected`,
        ],
        buildNumberTarget(target),
      );
    }
    case 'bit':
    case 'year': {
      const range =
        target.kind === 'year' ? '0 and 1901..2155' : `0..${(1n << BigInt(target.bits)) - 1n}`;
      return warning(`only ${range} are accepted`, buildNumberTarget(target));
    }
    default:
      return planNumberAsText(
        source,
        target,
        'map it to an integer, DECIMAL, FLOAT, text or JSON column',
      );
  }
};

/** Integer text to an integer column: digits checked in a loop, the decimal path as fallback. */
function compileIntegerToInteger(
  target: IntegerTarget,
  site: ConversionSite,
  fits: boolean,
): TextConverter {
  const general = compileNumberTarget(target, site);
  const min = Number(target.min);
  const max = Number(target.max);
  // A bigint fits BIGINT whatever its length: PostgreSQL's text is then the answer as it stands.
  if (target.asString && fits) return (text) => (isCanonicalInteger(text) ? text : general(text));
  // NaN (not a short canonical integer) fails both comparisons and takes the general path.
  if (target.asString) {
    return (text) => (isWithin(parseShortInteger(text), min, max) ? text : general(text));
  }
  return (text) => {
    const value = parseShortInteger(text);
    return isWithin(value, min, max) ? value : general(text);
  };
}

/** `0` or `-?[1-9][0-9]*` of at most 19 digits: PostgreSQL's output for any bigint. */
function isCanonicalInteger(text: string): boolean {
  const start = text.charCodeAt(0) === 45 ? 1 : 0;
  const digits = text.length - start;
  if (digits === 0 || digits > 19) return false;
  const first = text.charCodeAt(start);
  if (first === 48) return digits === 1 && start === 0;
  for (let i = start; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 48 || code > 57) return false;
  }
  return true;
}

function isWithin(value: number, min: number, max: number): boolean {
  return value >= min && value <= max;
}
