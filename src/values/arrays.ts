import {
  cannotStore,
  type FamilyPlanner,
  ok,
  type TextConverter,
  warning,
} from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import { jsonNumber, jsonString } from './json-text.js';
import { pgArrayToJson } from './pg-array-literal.js';
import type { SourceSpec } from './source-spec.js';
import { compileStringTarget } from './string-target.js';
import { textFits } from './text-target-plan.js';

/**
 * Arrays of any element type. Into JSON columns as JSON arrays: NULL elements as null,
 * multi-dimensional arrays nested, `{}` as `[]`. Elements: integers, numeric and floats as JSON
 * numbers when a double holds their value exactly, else as strings (so 12345678901234567891,
 * NaN and Infinity survive); booleans as true/false; json/jsonb elements embedded as documents;
 * everything else (text, dates, timestamps, uuids, …) as strings of PostgreSQL's text form, with
 * char(n)'s padding dropped. Into text columns as PostgreSQL's array literal.
 */
export const planArrayConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'json':
      return ok((site) => compileArrayToJson(source, site));
    case 'string': {
      const reasons = [
        'values are stored as PostgreSQL array literals; a JSON column gets JSON arrays',
        textFits(undefined, target),
      ];
      return warning(reasons.filter(Boolean).join('; '), (site) =>
        compileStringTarget(target, site),
      );
    }
    default:
      return cannotStore(source, target, 'map it to a JSON column');
  }
};

function compileArrayToJson(source: SourceSpec, site: ConversionSite): TextConverter {
  const element = elementToJson(source.element!);
  const delimiter = source.delimiter ?? ',';
  const parse = (text: string): string =>
    pgArrayToJson(text, delimiter, element) ??
    failValue(site, 'VALUE_INVALID', text, 'is not a valid array literal');
  if (source.element!.family !== 'integer') return parse;
  // A one-dimensional integer array without NULLs is already JSON but for its brackets, as long
  // as no element is too long for a double.
  return (text) =>
    plainIntegers.test(text) && !longDigits.test(text) ? `[${text.slice(1, -1)}]` : parse(text);
}

const plainIntegers = /^\{(?:-?(?:0|[1-9]\d*)(?:,-?(?:0|[1-9]\d*))*)?\}$/;
const longDigits = /\d{16}/;

function elementToJson(element: SourceSpec): (value: string) => string {
  switch (element.family) {
    case 'integer':
    case 'numeric':
    case 'float':
      return jsonNumber;
    case 'boolean':
      return (value) => (value === 't' ? 'true' : value === 'f' ? 'false' : jsonString(value));
    case 'json':
      // PostgreSQL checked each element when it was stored.
      return (value) => value;
    default:
      if (element.trimTrailingSpaces) return (value) => jsonString(value.replace(/ +$/, ''));
      return jsonString;
  }
}
