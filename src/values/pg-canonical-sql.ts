import type { SourceType, TargetColumn } from './column-types.js';
import { describeSource, type SourceSpec } from './source-spec.js';
import { describeTarget, type TargetSpec } from './target-spec.js';

/**
 * What a PostgreSQL rendering yields for a value the conversion would reject. Any text would
 * do: a real value spelt like this is taken for a rejection too, which only sends its range to
 * the row-by-row comparison, never makes two different rows look equal.
 */
export const pgRejectSql = "chr(1) || 'millrace:reject'";

/**
 * Builds the PostgreSQL expression of a value's canonical text from the value's SQL expression.
 * `longest`, when given, is a cheap text expression never shorter than the value (in characters
 * and bytes), such as the column a trim was applied to: where it fits a column's limit the value
 * does too, so the limit is checked on it first and the value is computed once.
 */
export type PgRendering = (value: string, longest?: string) => string;

/** What the session the rendering runs in allows. */
export interface PgSession {
  /**
   * DateStyle is ISO: dates print as `YYYY-MM-DD`, and their `::text` (cheaper than to_char)
   * can be used.
   */
  readonly isoDateStyle?: boolean;
  /** TimeZone is UTC: a timestamptz prints and compares in UTC without AT TIME ZONE. */
  readonly utcZone?: boolean;
}

/** A text SQL literal for PostgreSQL (standard_conforming_strings on, as since 9.1). */
export function pgTextLiteral(text: string): string {
  return `'${text.replaceAll("'", "''")}'::text`;
}

const sourceTextTypes = new Set(['text', 'varchar', 'bpchar']);

/**
 * The PostgreSQL expression that renders a value of `source` as the canonical text
 * (src/values/canonical.ts) of what its conversion into `target` stores, NULL for NULL and
 * pgRejectSql where the conversion throws; undefined for a pair without an exact rendering.
 * `text` is a derived value (a text expression).
 *
 * Rendered exactly: integers into integer columns, numeric into DECIMAL (rounded half away from
 * zero as round() does), text/varchar/char(n)/enum/uuid into character and ENUM columns (the
 * column's limit checked as the converter checks it), boolean into integer columns, date into
 * DATE, timestamp and timestamptz into DATETIME (UTC, fraction truncated). Everything else
 * (floats, JSON, arrays, bytea, time, TIMESTAMP columns, text parsed as a number or a date)
 * is not: its mapping is compared row by row. test/audit/digest-rendering.test.ts checks each
 * rendered pair against the converter over the round-trip catalogue's values.
 */
export function pgCanonicalSql(
  source: SourceType | 'text',
  target: TargetColumn,
  session: PgSession = {},
): PgRendering | undefined {
  const spec = describeTarget(target);
  const from = describeSource(source);
  switch (from.family) {
    case 'integer':
      return from.name === 'oid' ? undefined : integerRendering(from.range!, spec);
    case 'numeric':
      return spec.kind === 'decimal' ? decimalRendering(from, spec) : undefined;
    case 'text':
      if (source !== 'text' && !sourceTextTypes.has(from.name)) return undefined;
      return stringRendering(spec, from.maxChars, (value) => `(${value})::text`);
    case 'enum':
      return stringRendering(spec, from.maxChars, (value) => `(${value})::text`);
    case 'uuid':
      // A uuid's text never ends in a space: CHAR(n)'s trimming has nothing to remove.
      return stringRendering(spec, from.maxChars, (value) => `(${value})::text`, false);
    case 'boolean':
      return spec.kind === 'integer'
        ? (value) => `CASE WHEN ${value} THEN '1' WHEN NOT ${value} THEN '0' END`
        : undefined;
    case 'date':
      return spec.kind === 'date' ? dateRendering(session) : undefined;
    case 'timestamp':
    case 'timestamptz':
      return spec.kind === 'datetime'
        ? dateTimeRendering(spec.fsp, from.family, session)
        : undefined;
    default:
      return undefined;
  }
}

function integerRendering(
  [low, high]: readonly [bigint, bigint],
  spec: TargetSpec,
): PgRendering | undefined {
  if (spec.kind !== 'integer') return undefined;
  if (low >= spec.min && high <= spec.max) return (value) => `(${value})::text`;
  return (value) =>
    `CASE WHEN (${value})::numeric BETWEEN ${spec.min} AND ${spec.max} THEN (${value})::text WHEN ${value} IS NOT NULL THEN ${pgRejectSql} END`;
}

function decimalRendering(from: SourceSpec, spec: TargetSpec & { kind: 'decimal' }): PgRendering {
  const { precision, scale, unsigned } = spec;
  const limit = `1e${precision - scale}`;
  if (
    !unsigned &&
    from.precision !== undefined &&
    from.scale !== undefined &&
    from.scale >= 0 &&
    from.scale <= scale &&
    from.precision - from.scale <= precision - scale
  ) {
    // Every value fits as it is (numeric(p,s) holds no infinity, but may hold NaN).
    const text = (value: string) =>
      from.scale === scale ? `(${value})::text` : `round(${value}, ${scale})::text`;
    return (value) => `CASE WHEN ${value} = 'NaN' THEN ${pgRejectSql} ELSE ${text(value)} END`;
  }
  // The converter refuses a negative value for UNSIGNED before rounding (even one that rounds
  // to zero); neither it nor PostgreSQL spells a negative zero.
  return (value) =>
    `CASE WHEN ${value} IS NULL THEN NULL` +
    ` WHEN ${value} IN ('NaN', 'Infinity', '-Infinity') THEN ${pgRejectSql}` +
    (unsigned ? ` WHEN ${value} < 0 THEN ${pgRejectSql}` : '') +
    ` WHEN abs(round(${value}, ${scale})) >= ${limit} THEN ${pgRejectSql}` +
    ` ELSE round(${value}, ${scale})::text END`;
}

/**
 * Character data (at most `maxChars` characters, when known) into a character or ENUM column;
 * `asText` turns the value into text; `mayEndInSpace` false spares CHAR(n)'s trim.
 */
function stringRendering(
  spec: TargetSpec,
  maxChars: number | undefined,
  asText: PgRendering,
  mayEndInSpace = true,
): PgRendering | undefined {
  if (spec.kind === 'enum') {
    const labels = spec.labels.map(pgTextLiteral).join(', ');
    return (value) => {
      const text = asText(value);
      return `CASE WHEN ${text} IN (${labels}) THEN ${text} WHEN ${text} IS NOT NULL THEN ${pgRejectSql} END`;
    };
  }
  if (spec.kind !== 'string') return undefined;
  const padded = spec.padded && mayEndInSpace;
  // A UTF-8 character is at most 4 bytes.
  const alwaysFits =
    maxChars !== undefined &&
    (spec.maxChars !== null ? maxChars <= spec.maxChars : maxChars * 4 <= spec.maxBytes!);
  const fits = (text: string) =>
    spec.maxChars !== null
      ? `char_length(${text}) <= ${spec.maxChars}`
      : `octet_length(${text}) <= ${spec.maxBytes}`;
  return (value, longest) => {
    // CHAR(n) drops trailing spaces, as the converter does before it counts.
    const text = padded ? `rtrim(${asText(value)}, ' ')` : asText(value);
    if (alwaysFits) return text;
    const first = longest === undefined ? '' : `WHEN ${fits(longest)} THEN ${text} `;
    return `CASE ${first}WHEN ${fits(text)} THEN ${text} WHEN ${text} IS NOT NULL THEN ${pgRejectSql} END`;
  };
}

// Years 1..9999: range comparisons (infinities and BC fall outside) cost less than extract().
function dateRendering(session: PgSession): PgRendering {
  return (value) => {
    const text = session.isoDateStyle ? `(${value})::text` : `to_char(${value}, 'YYYY-MM-DD')`;
    return (
      `CASE WHEN ${value} >= '0001-01-01'::date AND ${value} < '10000-01-01'::date THEN ${text}` +
      ` WHEN ${value} IS NOT NULL THEN ${pgRejectSql} END`
    );
  };
}

function dateTimeRendering(
  fsp: number,
  family: 'timestamp' | 'timestamptz',
  session: PgSession,
): PgRendering {
  // FF1..FF6 truncate the fraction to fsp digits as the converter does (left() of the full text
  // would cost a quarter of the rendering again).
  const format = fsp === 0 ? 'YYYY-MM-DD HH24:MI:SS' : `YYYY-MM-DD HH24:MI:SS.FF${fsp}`;
  // to_char prints a timestamptz in the session's zone: in a UTC session it is used as it is
  // (AT TIME ZONE looks the zone up on every row), otherwise moved to UTC first, as the
  // converter moves it. to_char costs less than padding the ISO text's dropped zeros back.
  const inUtc = family === 'timestamptz' && session.utcZone === true;
  const bound = (year: string) =>
    inUtc ? `'${year}-01-01 00:00:00+00'::timestamptz` : `'${year}-01-01'::timestamp`;
  return (value) => {
    const utc = family === 'timestamptz' && !inUtc ? `(${value} AT TIME ZONE 'UTC')` : `(${value})`;
    return (
      `CASE WHEN ${utc} >= ${bound('0001')} AND ${utc} < ${bound('10000')}` +
      ` THEN to_char(${utc}, '${format}')` +
      ` WHEN ${value} IS NOT NULL THEN ${pgRejectSql} END`
    );
  };
}
