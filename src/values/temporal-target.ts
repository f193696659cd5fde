import type { TextConverter } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import type { DateTarget, TemporalTarget } from './target-spec.js';
import {
  type DateTimeParts,
  formatDate,
  formatDateTime,
  formatTime,
  fractionPart,
  parseTime,
  parseTimestamp,
  shiftToUtc,
  type TimeParts,
} from './temporal-text.js';

type TemporalTargetSpec = TemporalTarget | DateTarget;

/**
 * What the text holds: a `moment` (date or timestamp, with or without offset) or a `time` of
 * day (with or without offset).
 */
type TemporalInput = 'moment' | 'time';

/**
 * DATE and DATETIME: MySQL documents 1000-01-01..9999-12-31 as "supported", yet MariaDB (as
 * test/values checks) and MySQL 8 store and return years 1..999 faithfully, and CRMs use
 * 0001-01-01 as a "no date" value. Year 0 is MySQL's zero date and BC dates do not exist there.
 */
const dateRange = '0001-01-01..9999-12-31';
/** TIMESTAMP is seconds since the epoch in 32 bits; fractions are allowed up to the last second. */
const timestampMin = '1970-01-01 00:00:01';
const timestampMax = '2038-01-19 03:14:07';
/** MySQL's TIME range; MySQL rejects a fraction on the extreme values, so we do too. */
const timeLimitSeconds = 838 * 3600 + 59 * 60 + 59;

/**
 * A converter from date/time text to DATE, DATETIME, TIMESTAMP or TIME. A value with an offset
 * is moved to UTC first (so `timestamptz` lands in UTC whatever the session's zone was); a value
 * without one is taken as written. Fractional seconds beyond the column's precision are
 * truncated, never rounded: rounding could carry into the next second, day or year (and out of
 * range at 9999-12-31 23:59:59.9999995), and MariaDB truncates too. TIMESTAMP columns receive
 * the UTC value: the writer's session must use time_zone '+00:00'. `pgOutput`: the text is
 * PostgreSQL's own output for the column's type, which allows fast paths that slice it.
 */
export function compileTemporalTarget(
  target: TemporalTargetSpec,
  site: ConversionSite,
  input: TemporalInput,
  what: string,
  pgOutput = false,
): TextConverter {
  const general = compileGeneral(target, site, input, what);
  if (!pgOutput || target.kind === 'timestamp') return general;
  if (target.kind === 'time') {
    const { fsp } = target;
    if (input === 'moment') return general;
    return (text) =>
      plainTime.test(text) ? text.slice(0, 8) + fractionPart(text.slice(9), fsp) : general(text);
  }
  if (target.kind === 'date') return (text) => (plainDate.test(text) ? text : general(text));
  const { fsp } = target;
  const midnight = ` 00:00:00${fractionPart('', fsp)}`;
  return (text) => {
    // timestamptz read in a UTC session ends in +00: nothing to move.
    const local = text.endsWith('+00') ? text.slice(0, -3) : text;
    if (!plainDateTime.test(local)) return general(text);
    if (local.length === 10) return local + midnight;
    return local.slice(0, 19) + fractionPart(local.slice(20), fsp);
  };
}

/**
 * PostgreSQL's own output for AD dates up to 9999 (a BC date ends in ` BC`, a later one has a
 * fifth year digit, and year 0 does not exist): always a valid day, so slicing is enough.
 */
const plainDate = /^(?!0000)\d{4}-\d\d-\d\d$/;
const plainDateTime = /^(?!0000)\d{4}-\d\d-\d\d(?: \d\d:\d\d:\d\d(?:\.\d{1,6})?)?$/;
const plainTime = /^(?:[01]\d|2[0-4]):\d\d:\d\d(?:\.\d{1,6})?$/;

function compileGeneral(
  target: TemporalTargetSpec,
  site: ConversionSite,
  input: TemporalInput,
  what: string,
): TextConverter {
  const invalid = (text: string): never =>
    failValue(site, 'VALUE_INVALID', text, `is not a valid ${what}`);
  if (target.kind === 'time') {
    const { fsp } = target;
    const outOfRange = (text: string): never =>
      failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `is out of range for ${target.label} (-838:59:59..838:59:59)`,
      );
    if (input === 'moment') {
      const moment = compileMoment(site, invalid, target.label, dateRange);
      return (text) => {
        const parts = moment(text);
        return formatTime(
          {
            negative: false,
            hour: parts.hour,
            minute: parts.minute,
            second: parts.second,
            fraction: parts.fraction,
          },
          fsp,
        );
      };
    }
    return (text) => {
      const parsed = parseTime(text) ?? invalid(text);
      const time =
        parsed.offset === undefined || parsed.offset === 0
          ? parsed.time
          : timeOfDayInUtc(parsed.time, parsed.offset);
      const seconds = time.hour * 3600 + time.minute * 60 + time.second;
      if (
        seconds > timeLimitSeconds ||
        (seconds === timeLimitSeconds && /[1-9]/.test(time.fraction))
      )
        outOfRange(text);
      return formatTime(time, fsp);
    };
  }
  if (input === 'time') throw new Error(`a time cannot convert to ${target.label}`);
  if (target.kind === 'date') {
    const moment = compileMoment(site, invalid, target.label, dateRange);
    return (text) => formatDate(moment(text));
  }
  const { fsp } = target;
  if (target.kind === 'datetime') {
    const moment = compileMoment(site, invalid, target.label, dateRange);
    return (text) => formatDateTime(moment(text), fsp);
  }
  const range = `${timestampMin}..${timestampMax} UTC`;
  const moment = compileMoment(site, invalid, target.label, range);
  return (text) => {
    const formatted = formatDateTime(moment(text), fsp);
    const seconds = formatted.slice(0, 19);
    if (seconds < timestampMin || seconds > timestampMax) {
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `is out of range for ${target.label} (${range})`);
    }
    return formatted;
  };
}

/** Parses a date/timestamp text into UTC fields within years 1..9999. */
function compileMoment(
  site: ConversionSite,
  invalid: (text: string) => never,
  label: string,
  range: string,
): (text: string) => DateTimeParts {
  return (text) => {
    const parsed = parseTimestamp(text) ?? invalid(text);
    if (typeof parsed === 'string') {
      return failValue(
        site,
        'VALUE_OUT_OF_RANGE',
        text,
        `is infinite; ${label} holds ${range} only`,
      );
    }
    const parts =
      parsed.offset === undefined ? parsed.parts : shiftToUtc(parsed.parts, parsed.offset);
    if (parts.year < 1 || parts.year > 9999) {
      failValue(site, 'VALUE_OUT_OF_RANGE', text, `is out of range for ${label} (${range})`);
    }
    return parts;
  };
}

/** A `timetz` as the UTC time of day it denotes, wrapping around midnight. */
function timeOfDayInUtc(time: TimeParts, offset: number): TimeParts {
  const local = (time.negative ? -1 : 1) * (time.hour * 3600 + time.minute * 60 + time.second);
  const utc = (((local - offset) % 86_400) + 86_400) % 86_400;
  const hour = Math.floor(utc / 3600);
  const minute = Math.floor((utc - hour * 3600) / 60);
  return {
    negative: false,
    hour,
    minute,
    second: utc - hour * 3600 - minute * 60,
    fraction: time.fraction,
  };
}
