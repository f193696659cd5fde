import { type ConversionPlan, okUnless, refuse, type TextConverter } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import {
  type CrmPlanner,
  type CrmSource,
  cannotWrite,
  integerRange,
  isTextual,
} from './crm-source.js';
import { type Decimal, formatScaled, parseDecimal, roundToScale } from './decimal-text.js';
import { failValue } from './fail-value.js';
import { floatMax, parseShortInteger } from './number-target.js';
import type { SourceSpec } from './source-spec.js';

/** PostgreSQL's numeric holds up to 131072 digits before the point and 16383 after. */
const numericIntegerDigits = 131_072;
const numericScaleLimit = 16_383;

const numericSources = new Set(['integer', 'decimal', 'float', 'bit', 'year']);

function parseNumber(text: string, label: string, site: ConversionSite): Decimal {
  return (
    parseDecimal(text) ??
    failValue(site, 'VALUE_INVALID', text, `is not a number; ${label} needs one`)
  );
}

/**
 * Integers into smallint/integer/bigint as decimal text: exact (digit strings, BigInt past 15
 * digits), BIGINT UNSIGNED included; decimals rounded half away from zero (as PostgreSQL casts
 * numeric to integer); out of range rejected, never clamped.
 */
function compileIntegerText(target: SourceSpec, site: ConversionSite): TextConverter {
  const [min, max] = target.range!;
  const fastMin = Number(min);
  const fastMax = Number(max);
  const outOfRange = (text: string): never =>
    failValue(
      site,
      'VALUE_OUT_OF_RANGE',
      text,
      `is out of range for ${target.label} (${min}..${max})`,
    );
  return (text) => {
    const fast = parseShortInteger(text);
    if (fast >= fastMin && fast <= fastMax) return text;
    const value = parseNumber(text, target.label, site);
    const rounded = roundToScale(value, 0, 20) ?? outOfRange(text);
    const integer = BigInt(rounded.integer || '0');
    const signed = rounded.negative ? -integer : integer;
    return signed < min || signed > max ? outOfRange(text) : signed.toString();
  };
}

/**
 * Decimal text into numeric(p,s): rounded half away from zero to s decimals (as PostgreSQL
 * rounds its input), rejected when more than p-s integer digits remain; unconstrained numeric
 * keeps every digit. The result is plain decimal text, never an exponent.
 */
function compileNumericText(target: SourceSpec, site: ConversionSite): TextConverter {
  const { precision, scale } = target;
  const constrained = precision !== undefined && scale !== undefined;
  const integerDigits = constrained ? precision - scale : numericIntegerDigits;
  const plain = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
  return (text) => {
    if (!constrained && plain.test(text)) return text;
    const value = parseNumber(text, target.label, site);
    const digits = constrained ? scale : Math.max(0, -value.exponent);
    if (digits > numericScaleLimit)
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `has more decimals than ${target.label} holds`);
    const rounded =
      roundToScale(value, digits, integerDigits) ??
      failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `does not fit ${target.label} (at most ${integerDigits} integer digits)`,
      );
    return formatScaled(rounded);
  };
}

/** Decimal text into real / double precision: PostgreSQL rounds it to the nearest value itself. */
function compileFloatText(target: SourceSpec, site: ConversionSite): TextConverter {
  const limit = target.name === 'float4' ? floatMax : Number.MAX_VALUE;
  return (text) => {
    parseNumber(text, target.label, site);
    if (!(Math.abs(Number(text)) <= limit))
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `is out of range for ${target.label}`);
    return text.trim();
  };
}

/** Digits before the point a numeric source can have; undefined when unbounded (text, floats). */
function integerDigitsOf(source: CrmSource): number | undefined {
  const range = integerRange(source);
  if (range !== undefined)
    return Math.max(String(range[0]).replace('-', '').length, String(range[1]).length);
  if (source.kind === 'decimal') return source.precision - source.scale;
  return undefined;
}

function scaleOf(source: CrmSource): number | undefined {
  if (source.kind === 'decimal') return source.scale;
  return integerRange(source) === undefined ? undefined : 0;
}

/** Whether a source can feed a number column at all, or the refusal. */
function refusal(source: CrmSource, target: SourceSpec): ConversionPlan | undefined {
  if (numericSources.has(source.kind) || isTextual(source)) return undefined;
  return cannotWrite(source, target, 'map it to a column of a matching type, or to text');
}

/** What textual sources risk in a number column. */
const textRisk = (source: CrmSource) =>
  isTextual(source) ? 'values that are not numbers are rejected' : undefined;

const planInteger = (source: CrmSource, target: SourceSpec): ConversionPlan => {
  const [min, max] = target.range!;
  const range = integerRange(source);
  const fits = range !== undefined && range[0] >= min && range[1] <= max;
  const rounds = range === undefined && !isTextual(source);
  return okUnless(
    [
      textRisk(source),
      rounds ? 'values with decimals are rounded half away from zero' : undefined,
      fits ? undefined : `values outside ${min}..${max} are rejected`,
    ],
    (site) => compileIntegerText(target, site),
  );
};

const planNumeric = (source: CrmSource, target: SourceSpec): ConversionPlan => {
  const { precision, scale } = target;
  if (scale !== undefined && scale < 0)
    return refuse(
      `${target.label} (a negative scale) is not supported; use numeric(p,s) with s ≥ 0`,
    );
  const build = (site: ConversionSite) => compileNumericText(target, site);
  if (precision === undefined || scale === undefined) return okUnless([textRisk(source)], build);
  const sourceScale = scaleOf(source);
  const sourceDigits = integerDigitsOf(source);
  return okUnless(
    [
      textRisk(source),
      sourceScale === undefined || sourceScale > scale
        ? `values with more than ${scale} decimals are rounded half away from zero`
        : undefined,
      sourceDigits === undefined || sourceDigits > precision - scale
        ? `values with more than ${precision - scale} integer digits are rejected`
        : undefined,
    ],
    build,
  );
};

const planFloat = (source: CrmSource, target: SourceSpec): ConversionPlan => {
  const single = target.name === 'float4';
  const exact =
    (source.kind === 'float' && (source.single || !single)) ||
    ((integerDigitsOf(source) ?? 99) <= (single ? 6 : 15) && scaleOf(source) === 0);
  return okUnless(
    [textRisk(source), exact ? undefined : `values are rounded to the nearest ${target.label}`],
    (site) => compileFloatText(target, site),
  );
};

/** Integer, numeric and floating-point targets. */
export const planCrmNumber: CrmPlanner = (source, target) => {
  const refused = refusal(source, target);
  if (refused) return refused;
  if (target.family === 'integer') return planInteger(source, target);
  if (target.family === 'numeric') return planNumeric(source, target);
  return planFloat(source, target);
};
