import { okUnless, refuse, type TextConverter } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { type CrmPlanner, type CrmSource, cannotWrite, isTextual } from './crm-source.js';
import { failValue } from './fail-value.js';
import type { SourceSpec } from './source-spec.js';
import {
  type DateTimeParts,
  formatDate,
  formatDateTime,
  formatTime,
  parseTime,
  parseTimestamp,
  shiftToUtc,
} from './temporal-text.js';
import { truncates } from './timestamps.js';

/**
 * A MySQL date or datetime text as calendar fields in UTC. MySQL's DATETIME has no zone: it is
 * read as UTC, like TIMESTAMP (which the MES source prints in UTC). Zero dates
 * (`0000-00-00`, `2024-00-15`) have no PostgreSQL equivalent and are rejected, as are years
 * before 1 and the infinities.
 */
function compileParts(target: SourceSpec, site: ConversionSite): (text: string) => DateTimeParts {
  return (text) => {
    const parsed = parseTimestamp(text);
    if (parsed === undefined)
      failValue(site, 'VALUE_INVALID', text, `is not a valid date; ${target.label} needs one`);
    if (parsed === 'infinity' || parsed === '-infinity')
      failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `is infinite; ${target.label} is not fed infinities`,
      );
    const parts =
      parsed.offset === undefined ? parsed.parts : shiftToUtc(parsed.parts, parsed.offset);
    if (parts.year < 1)
      failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `is before the year 1; ${target.label} is not fed it`,
      );
    return parts;
  };
}

function compileDate(target: SourceSpec, site: ConversionSite): TextConverter {
  const partsOf = compileParts(target, site);
  return (text) => {
    const parts = partsOf(text);
    if (
      parts.hour !== 0 ||
      parts.minute !== 0 ||
      parts.second !== 0 ||
      /[1-9]/.test(parts.fraction)
    )
      failValue(site, 'VALUE_INVALID', text, `has a time of day; ${target.label} would drop it`);
    return formatDate(parts);
  };
}

/** `YYYY-MM-DD HH:MM:SS.ffffff`, fraction cut (not rounded) to the column's digits; `+00` for timestamptz. */
function compileTimestamp(target: SourceSpec, site: ConversionSite): TextConverter {
  const partsOf = compileParts(target, site);
  const zone = target.family === 'timestamptz' ? '+00' : '';
  const { fsp } = target;
  return (text) => `${formatDateTime(partsOf(text), fsp)}${zone}`;
}

/** MySQL's TIME is a duration (-838:59:59..838:59:59); PostgreSQL's time a time of day. */
function compileTime(target: SourceSpec, site: ConversionSite): TextConverter {
  const { fsp } = target;
  return (text) => {
    const parsed = parseTime(text);
    if (parsed === undefined || parsed.offset !== undefined)
      failValue(site, 'VALUE_INVALID', text, `is not a time of day; ${target.label} needs one`);
    const { time } = parsed;
    const rest = time.minute !== 0 || time.second !== 0 || /[1-9]/.test(time.fraction);
    if (time.negative || time.hour > 24 || (time.hour === 24 && rest))
      failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `is outside 00:00:00..24:00:00 (${target.label})`,
      );
    return formatTime(time, fsp);
  };
}

/** Fractional digits a source keeps: 0 for dates, 6 for text (whatever it holds is cut). */
function sourceFsp(source: CrmSource): number {
  if (source.kind === 'datetime' || source.kind === 'timestamp' || source.kind === 'time')
    return source.fsp;
  return source.kind === 'date' ? 0 : 6;
}

const textRisk = (source: CrmSource, what: string) =>
  isTextual(source) ? `values that are not ${what} are rejected` : undefined;

/** Date, timestamp, timestamptz and time targets. */
export const planCrmTemporal: CrmPlanner = (source, target) => {
  const textual = isTextual(source);
  switch (target.family) {
    case 'date':
      if (source.kind !== 'date' && !textual)
        return cannotWrite(source, target, 'map it to a timestamp column');
      return okUnless([textRisk(source, 'dates like 2024-01-31')], (site) =>
        compileDate(target, site),
      );
    case 'timestamp':
    case 'timestamptz': {
      const fits = ['date', 'datetime', 'timestamp'].includes(source.kind);
      if (!fits && !textual) return cannotWrite(source, target, 'map it from a DATETIME column');
      return okUnless(
        [
          textRisk(source, 'timestamps like 2024-01-31 08:00:00'),
          truncates(sourceFsp(source), target.fsp),
        ],
        (site) => compileTimestamp(target, site),
      );
    }
    case 'time':
      if (source.kind !== 'time' && !textual)
        return cannotWrite(source, target, 'map it from a TIME column');
      return okUnless(
        [
          textual
            ? textRisk(source, 'times like 08:30:00')
            : 'values outside 00:00:00..24:00:00 are rejected',
          truncates(sourceFsp(source), target.fsp),
        ],
        (site) => compileTime(target, site),
      );
    default:
      return refuse(
        `${target.label} columns are not supported as a to-crm target; use time or text`,
      );
  }
};
