/**
 * Calendar arithmetic and the text forms of dates and times. Parsers take PostgreSQL's ISO
 * output (`2024-01-01 10:00:00.123456+05:30`, `0044-03-15 BC`) and ISO 8601 text with a `T`.
 */

/** A moment on the proleptic Gregorian calendar; `year` is astronomical (1 BC is 0). */
export interface DateTimeParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  /** Fractional second digits as written: '123' for .123, '' for none. */
  readonly fraction: string;
}

/** A parsed timestamp: its fields as written and the UTC offset written with them. */
interface ParsedTimestamp {
  readonly parts: DateTimeParts;
  /** Seconds east of UTC; undefined when the text had no offset. */
  readonly offset: number | undefined;
}

const timestampSyntax =
  /^\s*(\d{4,})-(\d{2})-(\d{2})(?:[ Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?)?\s*([Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?( BC)?\s*$/;

/** `infinity`, `-infinity` (PostgreSQL), returned as such so callers can say "out of range". */
type Infinite = 'infinity' | '-infinity';

/** Parses a date or timestamp text; undefined when it is not one or names an impossible day. */
export function parseTimestamp(text: string): ParsedTimestamp | Infinite | undefined {
  const match = timestampSyntax.exec(text);
  if (match === null) {
    const word = text.trim().toLowerCase();
    return word === 'infinity' || word === '+infinity'
      ? 'infinity'
      : word === '-infinity'
        ? '-infinity'
        : undefined;
  }
  const written = Number(match[1]);
  const parts: DateTimeParts = {
    year: match[9] === undefined ? written : 1 - written,
    month: Number(match[2]),
    day: Number(match[3]),
    hour: match[4] === undefined ? 0 : Number(match[4]),
    minute: match[5] === undefined ? 0 : Number(match[5]),
    second: match[6] === undefined ? 0 : Number(match[6]),
    fraction: match[7] ?? '',
  };
  if (
    !validDate(parts.year, parts.month, parts.day) ||
    parts.hour > 23 ||
    parts.minute > 59 ||
    parts.second > 59
  ) {
    return undefined;
  }
  return { parts, offset: match[8] === undefined ? undefined : parseOffset(match[8]) };
}

/** A time of day or duration: `-838:59:59.5`, `24:00:00`; `negative` applies to the whole value. */
export interface TimeParts {
  readonly negative: boolean;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly fraction: string;
}

const timeSyntax =
  /^\s*(-?)(\d{1,3}):(\d{2}):(\d{2})(?:\.(\d+))?\s*([Zz]|[+-]\d{2}(?::?\d{2}(?::?\d{2})?)?)?\s*$/;

/** Parses a time text, with the offset of a `timetz` when there is one. */
export function parseTime(
  text: string,
): { readonly time: TimeParts; readonly offset: number | undefined } | undefined {
  const match = timeSyntax.exec(text);
  if (match === null) return undefined;
  const time: TimeParts = {
    negative: match[1] === '-',
    hour: Number(match[2]),
    minute: Number(match[3]),
    second: Number(match[4]),
    fraction: match[5] ?? '',
  };
  if (time.minute > 59 || time.second > 59) return undefined;
  return { time, offset: match[6] === undefined ? undefined : parseOffset(match[6]) };
}

/** `+05:30` → 19800, `-03` → -10800, `+00:19:32` (local mean time) → 1172, `Z` → 0. */
function parseOffset(text: string): number {
  if (text === 'Z' || text === 'z') return 0;
  const digits = text.slice(1).replace(/:/g, '');
  const seconds =
    Number(digits.slice(0, 2)) * 3600 +
    Number(digits.slice(2, 4) || 0) * 60 +
    Number(digits.slice(4, 6) || 0);
  return text.charCodeAt(0) === 45 ? -seconds : seconds;
}

/** The same instant in UTC: the fields moved by the offset, across day, month and year ends. */
export function shiftToUtc(parts: DateTimeParts, offset: number): DateTimeParts {
  if (offset === 0) return parts;
  const total =
    daysFromCivil(parts.year, parts.month, parts.day) * 86_400 +
    parts.hour * 3600 +
    parts.minute * 60 +
    parts.second -
    offset;
  const days = Math.floor(total / 86_400);
  let rest = total - days * 86_400;
  const [year, month, day] = civilFromDays(days);
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  return { year, month, day, hour, minute, second: rest - minute * 60, fraction: parts.fraction };
}

/** `YYYY-MM-DD`. */
export function formatDate(parts: DateTimeParts): string {
  return `${pad(parts.year, 4)}-${pad(parts.month, 2)}-${pad(parts.day, 2)}`;
}

/** `YYYY-MM-DD HH:MM:SS[.f]` with exactly `fsp` fractional digits, extra digits truncated. */
export function formatDateTime(parts: DateTimeParts, fsp: number): string {
  return `${formatDate(parts)} ${pad(parts.hour, 2)}:${pad(parts.minute, 2)}:${pad(parts.second, 2)}${fractionPart(parts.fraction, fsp)}`;
}

/** `[-]HH:MM:SS[.f]` with exactly `fsp` fractional digits, extra digits truncated. */
export function formatTime(time: TimeParts, fsp: number): string {
  const fraction = fractionPart(time.fraction, fsp);
  const zero = time.hour === 0 && time.minute === 0 && time.second === 0 && !/[1-9]/.test(fraction);
  const sign = time.negative && !zero ? '-' : '';
  return `${sign}${pad(time.hour, 2)}:${pad(time.minute, 2)}:${pad(time.second, 2)}${fraction}`;
}

/** `.ffffff` cut or zero-padded to `fsp` digits; '' for fsp 0. */
export function fractionPart(fraction: string, fsp: number): string {
  if (fsp === 0) return '';
  if (fraction.length === fsp) return `.${fraction}`;
  return `.${fraction.length > fsp ? fraction.slice(0, fsp) : fraction.padEnd(fsp, '0')}`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

function validDate(year: number, month: number, day: number): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(year, month);
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra =
    yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

function civilFromDays(days: number): readonly [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra -
      Math.floor(dayOfEra / 1460) +
      Math.floor(dayOfEra / 36_524) -
      Math.floor(dayOfEra / 146_096)) /
      365,
  );
  const dayOfYear =
    dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const shifted = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * shifted + 2) / 5) + 1;
  const month = shifted < 10 ? shifted + 3 : shifted - 9;
  return [yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day];
}
