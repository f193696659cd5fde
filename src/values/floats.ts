import { type FamilyPlanner, okUnless, type TextConverter, warning } from './conversion-plan.js';
import { buildNumberTarget, compileNumberTarget, floatMax } from './number-target.js';
import { planNumberAsText } from './text-target-plan.js';

/**
 * real, double precision. The sessions' extra_float_digits=3 makes PostgreSQL print the
 * shortest text that reads back as the same float, so that text is the value: DOUBLE gets the
 * double nearest to it, DECIMAL its exact digits rounded to scale. NaN and infinities are
 * rejected everywhere except JSON, where they become strings.
 */
export const planFloatConversion: FamilyPlanner = (source, target) => {
  const double = source.name === 'float8';
  switch (target.kind) {
    case 'float':
      return okUnless(
        [
          double && target.single
            ? 'digits beyond the 6th significant one are lost; values beyond ±3.4e38 are rejected'
            : undefined,
          target.unsigned ? 'negative values are rejected' : undefined,
          target.fixed === undefined
            ? undefined
            : `values are rounded to ${target.fixed.scale} decimals; more than ${target.fixed.precision - target.fixed.scale} integer digits are rejected`,
        ],
        (site) => {
          const general = compileNumberTarget(target, site);
          if (target.unsigned || target.fixed !== undefined) return general;
          if (!double && target.single) return compileSingleToSingle(general);
          return compileFloatToFloat(general, target.single ? floatMax : Number.MAX_VALUE);
        },
      );
    case 'decimal':
      return warning(
        `values are rounded half away from zero to ${target.scale} decimals; more than ${target.precision - target.scale} integer digits, NaN and infinities are rejected`,
        buildNumberTarget(target),
      );
    case 'integer':
    case 'bit':
    case 'year':
      return warning(
        'values are rounded half away from zero to whole numbers and checked against the column range',
        buildNumberTarget(target),
      );
    default:
      return planNumberAsText(
        source,
        target,
        'map it to a FLOAT, DOUBLE, DECIMAL, text or JSON column',
      );
  }
};

/** PostgreSQL's float output (NaN and infinities aside, which take the general path to fail). */
const floatText = /^-?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/;

/** A float's text to DOUBLE (or FLOAT when within its range): Number() parses it exactly. */
function compileFloatToFloat(general: TextConverter, limit: number): TextConverter {
  return (text) => {
    const value = Number(text);
    if (!(Math.abs(value) <= limit) || !floatText.test(text)) return general(text);
    return value === 0 ? 0 : value;
  };
}

/**
 * real into FLOAT: the float32 the text denotes, bound exactly. PostgreSQL prints the largest
 * real as 3.4028235e+38, which read as a double lies above FLT_MAX and which MySQL would
 * reject; the float32 it denotes is FLT_MAX itself and fits.
 */
function compileSingleToSingle(general: TextConverter): TextConverter {
  return (text) => {
    const value = Math.fround(Number(text));
    if (!Number.isFinite(value) || !floatText.test(text)) return general(text);
    return value === 0 ? 0 : value;
  };
}
