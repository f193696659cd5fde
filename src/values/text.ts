import { compileBinaryTarget } from './binary-target.js';
import { type FamilyPlanner, refuse, type TextConverter, warning } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import { buildNumberTarget } from './number-target.js';
import type { SourceSpec } from './source-spec.js';
import { compileTemporalTarget } from './temporal-target.js';
import { planTextTarget } from './text-target-plan.js';

/**
 * text, varchar, char(n), name, citext, and derived values (map, template, transform, const,
 * JSON path). Into character columns as they are (char(n)'s padding dropped, as PostgreSQL's
 * cast to text drops it), length-checked; into any other column parsed as that column's type:
 * numbers, ISO 8601 dates and times (an offset moves the value to UTC), JSON documents (checked
 * to parse, stored as written), or UTF-8 bytes for binary columns.
 */
export const planTextConversion: FamilyPlanner = (source, target) => {
  const trimmed = trimmer(source);
  const parsed = (what: string): string =>
    `${source.derived ? 'values are' : 'text is'} parsed as ${what}; other values are rejected`;
  switch (target.kind) {
    case 'string':
    case 'enum':
      return planTextTarget(source, target, trimmed && (() => trimmed));
    case 'integer':
    case 'decimal':
    case 'float':
    case 'bit':
    case 'year':
      return warning(parsed('a number'), buildNumberTarget(target));
    case 'date':
    case 'datetime':
    case 'timestamp':
      return warning(
        parsed('an ISO 8601 date or timestamp (with an offset: moved to UTC)'),
        (site) => compileTemporalTarget(target, site, 'moment', 'date or timestamp'),
      );
    case 'time':
      return warning(parsed('a time (HH:MM:SS[.ffffff])'), (site) =>
        compileTemporalTarget(target, site, 'time', 'time'),
      );
    case 'json':
      return warning(parsed('a JSON document'), (site) => compileJsonCheck(site, trimmed));
    case 'binary': {
      const store = (site: ConversionSite): TextConverter => {
        const checkLength = compileBinaryTarget(target, site);
        return (text) => checkLength(Buffer.from(trimmed ? trimmed(text) : text, 'utf8'), text);
      };
      const padded = target.fixed ? '; shorter values are padded with zero bytes' : '';
      return warning(`values are stored as their UTF-8 bytes${padded}`, store);
    }
    default:
      return refuse(`${target.label} columns are not supported`);
  }
};

function trimmer(source: SourceSpec): ((text: string) => string) | undefined {
  if (!source.trimTrailingSpaces) return undefined;
  return (text) => (text.charCodeAt(text.length - 1) === 32 ? text.replace(/ +$/, '') : text);
}

function compileJsonCheck(
  site: ConversionSite,
  trimmed: ((text: string) => string) | undefined,
): TextConverter {
  return (text) => {
    const document = trimmed ? trimmed(text) : text;
    try {
      JSON.parse(document);
    } catch {
      failValue(site, 'VALUE_INVALID', text, 'is not a valid JSON document');
    }
    return document;
  };
}
