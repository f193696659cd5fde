import { type FamilyPlanner, okUnless, type TextConverter, warning } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { buildNumberTarget, compileNumberTarget } from './number-target.js';
import type { DecimalTarget } from './target-spec.js';
import { planNumberAsText } from './text-target-plan.js';

/**
 * numeric(p,s). Into DECIMAL(P,S) exactly: rounded half away from zero to S decimals (as MySQL
 * rounds), rejected when more than P-S integer digits remain, NaN and infinities rejected. Into
 * integers the same with S = 0; into FLOAT/DOUBLE the nearest value; into JSON as a number when
 * a double holds it exactly, else as a string.
 */
export const planNumericConversion: FamilyPlanner = (source, target) => {
  const { precision, scale } = source;
  const integerDigits =
    precision === undefined || scale === undefined ? undefined : precision - scale;
  const rounds = (targetScale: number): string | undefined =>
    scale === undefined || scale > targetScale
      ? `values with more than ${targetScale} decimals are rounded half away from zero`
      : undefined;
  const overflows = (targetDigits: number): string | undefined =>
    integerDigits === undefined || integerDigits > targetDigits
      ? `values with more than ${targetDigits} integer digits are rejected`
      : undefined;
  switch (target.kind) {
    case 'decimal':
      return okUnless(
        [
          rounds(target.scale),
          overflows(target.precision - target.scale),
          target.unsigned ? 'negative values are rejected' : undefined,
        ],
        (site) => compileNumericToDecimal(target, site),
      );
    case 'integer': {
      const targetDigits = String(target.max).length - 1;
      return okUnless(
        [
          rounds(0),
          overflows(targetDigits) === undefined
            ? undefined
            : `values outside ${target.min}..${target.max} are rejected`,
          target.min === 0n ? 'negative values are rejected' : undefined,
        ],
        buildNumberTarget(target),
      );
    }
    case 'float': {
      const digits = target.single ? 6 : 15;
      return okUnless(
        [
          precision === undefined || precision > digits
            ? `digits beyond the ${digits}th significant one are lost`
            : undefined,
          target.unsigned ? 'negative values are rejected' : undefined,
          target.fixed === undefined ? undefined : rounds(target.fixed.scale),
        ],
        buildNumberTarget(target),
      );
    }
    case 'bit':
    case 'year':
      return warning(
        'values are rounded to whole numbers and checked against the column range',
        buildNumberTarget(target),
      );
    default:
      return planNumberAsText(
        source,
        target,
        'map it to a DECIMAL, integer, FLOAT, text or JSON column',
      );
  }
};

/**
 * PostgreSQL already prints numeric(p,s) with s decimals; when that is also the column's scale
 * and the integer digits fit, the text is the answer as it stands.
 */
function compileNumericToDecimal(target: DecimalTarget, site: ConversionSite): TextConverter {
  const general = compileNumberTarget(target, site);
  const { scale, unsigned } = target;
  const maxInteger = target.precision - scale;
  return (text) => {
    const point = text.indexOf('.');
    const negative = text.charCodeAt(0) === 45;
    const integerDigits = (point < 0 ? text.length : point) - (negative ? 1 : 0);
    const decimals = point < 0 ? 0 : text.length - point - 1;
    if (
      decimals === scale &&
      (integerDigits <= maxInteger ||
        (integerDigits === 1 && text.charCodeAt(negative ? 1 : 0) === 48)) &&
      !(negative && (unsigned || !nonZero.test(text))) &&
      plainDecimal.test(text)
    ) {
      return text;
    }
    return general(text);
  };
}

/** PostgreSQL's numeric output: no exponent, no leading zero. */
const plainDecimal = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
const nonZero = /[1-9]/;
