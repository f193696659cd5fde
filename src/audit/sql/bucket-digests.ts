import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { quotePgIdent, quotePgTable } from '../../postgres/pg-client.js';
import { ceilDivide, maxOf, minOf } from '../../util/bigints.js';
import { pgRejectSql } from '../../values/pg-canonical-sql.js';
import type { DigestPlan, SourceField } from '../digest-plan.js';
import type { PgStatement, SourceTableRef } from './pg-statement.js';

/**
 * Keys `first..last` (inclusive) cut into buckets of `width` keys: bucket b holds the keys
 * `first + b·width … first + (b+1)·width − 1`. Both databases number buckets the same way, so
 * one statement per side returns the digest of every bucket of the range.
 */
export interface BucketRange {
  readonly first: bigint;
  readonly last: bigint;
  readonly width: bigint;
  /** Only the keys in these buckets of a coarser cut of the same keys (starting at `first`). */
  readonly within?: {
    readonly first: bigint;
    readonly width: bigint;
    readonly buckets: readonly bigint[];
  };
}

/** PostgreSQL: the `within` condition, its parameters numbered from `next`. */
function sourceWithin(key: string, range: BucketRange, next: number) {
  if (range.within === undefined) return { sql: '', values: [] };
  const { first, width, buckets } = range.within;
  return {
    sql: ` AND (${key}::bigint - $${next}::bigint) / $${next + 1}::bigint = ANY($${next + 2}::bigint[])`,
    values: [String(first), String(width), buckets.map(String)],
  };
}

/** MySQL: the `within` condition and its parameters. */
function targetWithin(key: string, range: BucketRange) {
  if (range.within === undefined) return { sql: [], values: [] };
  const { first, width, buckets } = range.within;
  return {
    sql: [`(${key} - ?) DIV ? IN (${buckets.map(() => '?').join(', ')})`],
    values: [first, width, ...buckets],
  };
}

/**
 * A field's part of the row text (see DigestPlan) over the inner query's column `name`, never
 * NULL. A rejected non-text value keeps the rejection mark, which MySQL never writes there; a
 * rejected text value is marked by `E` where its length goes.
 */
function sourceField(field: SourceField, name: string): string {
  if (!field.text) return `coalesce(${name} || ';', ';')`;
  const length = field.sql.includes(pgRejectSql)
    ? `CASE WHEN ${name} = ${pgRejectSql} THEN 'E' ELSE octet_length(${name})::text END`
    : `octet_length(${name})::text`;
  return `coalesce(${length} || ':' || ${name}, ':')`;
}

/**
 * PostgreSQL: the row text over the inner query's columns `f0`, `f1`, … The parts are joined
 * with `||`, not concat(), which looks up each argument's output function on every call (a
 * tenth of the statement).
 */
export function sourceRowSql(fields: readonly SourceField[]): string {
  return fields.map((field, index) => sourceField(field, `f${index}`)).join(' || ');
}

/** Buckets `from..to` (inclusive) of a range: what one digest statement covers. */
export interface BucketWindow {
  readonly from: bigint;
  readonly to: bigint;
}

/** How many buckets `range` is cut into. */
export function bucketCount(range: BucketRange): bigint {
  return ceilDivide(range.last - range.first + 1n, range.width);
}

/**
 * The source's digests of the buckets in `window`, as one row: how many buckets hold rows, how
 * many rows they hold, and `<bucket>:<rows>:<md5>` per such bucket, comma-separated in bucket
 * order (the same decimal and lowercase hex texts on both sides, so equal digests are equal
 * texts; one row rather than one per bucket, so Node reads and keeps one string, not thousands
 * of rows). A bucket's rows are the source rows the mapping's filter passes, its MD5 that of
 * their texts joined in key order (see DigestPlan). Each bucket is one range scan of the key's
 * index, so its rows come in key order already; they are joined in the order the subquery gives
 * them, which costs nothing, where an ordered aggregate would sort each bucket on its own (a
 * few microseconds each, more than its rows cost at eight per bucket). Were the order ever not
 * kept, the bucket would only look different. The fields are computed in a subquery kept apart,
 * so each is evaluated once.
 */
export function sourceBucketDigests(
  table: SourceTableRef,
  plan: DigestPlan,
  range: BucketRange,
  window: BucketWindow,
): PgStatement {
  const fields = plan.sourceFields.map((field, index) => `${field.sql} AS f${index}`).join(', ');
  // The key column itself, which the index scan gives in order (no sort), then the other key
  // columns' texts byte by byte (see DigestPlan).
  const order = [
    plan.sourceKey,
    ...plan.sourceFields.slice(1, plan.keyFields).map((field) => `(${field.sql}) COLLATE "C"`),
  ];
  const key = plan.sourceKey;
  const whole = range.within === undefined;
  const within = sourceWithin(key, range, whole ? 6 : 5);
  const filter = plan.sourceFilter === undefined ? '' : ` AND (${plan.sourceFilter})`;
  const buckets = whole ? 'generate_series($4::bigint, $5::bigint)' : 'unnest($4::bigint[])';
  return {
    text:
      `SELECT count(*)::text, coalesce(sum(d.n), 0)::text,` +
      ` coalesce(string_agg(g.b || ':' || d.n || ':' || d.s, ',' ORDER BY g.b), '')` +
      ` FROM ${buckets} AS g(b) CROSS JOIN LATERAL (` +
      `SELECT count(*) AS n, md5(string_agg(${sourceRowSql(plan.sourceFields)}, '')) AS s` +
      ` FROM (SELECT ${fields} FROM ${quotePgTable(table.schema, table.table)}` +
      // The bucket's last key never passes the range's (nor overflows a BIGINT).
      ` WHERE ${key} >= $1::bigint + g.b * $3::bigint` +
      ` AND ${key} <= $1::bigint + least(g.b * $3::bigint + ($3::bigint - 1), $2::bigint - $1::bigint)` +
      `${within.sql}${filter} ORDER BY ${order.join(', ')}) AS r) AS d WHERE d.n > 0`,
    values: [
      String(range.first),
      String(range.last),
      String(range.width),
      ...(whole
        ? [String(window.from), String(window.to)]
        : [
            withinBuckets(range)
              .filter((bucket) => bucket >= window.from && bucket <= window.to)
              .map(String),
          ]),
      ...within.values,
    ],
  };
}

/** The buckets of `range` that hold keys of its `within` buckets, in order. */
function withinBuckets(range: BucketRange): bigint[] {
  const { first, width, buckets } = range.within!;
  const found: bigint[] = [];
  for (const coarse of buckets) {
    const low = first + coarse * width;
    const high = low + width - 1n;
    const from = (maxOf(low, range.first) - range.first) / range.width;
    const to = (minOf(high, range.last) - range.first) / range.width;
    for (let bucket = from; bucket <= to; bucket++) {
      if (found.length === 0 || found[found.length - 1]! < bucket) found.push(bucket);
    }
  }
  return found;
}

/**
 * The target's digests of the buckets in `window`, likewise: live rows only, and only
 * `owner`'s in a shared table. The audit's MES sessions allow a long GROUP_CONCAT
 * (run-audit.ts); a bucket's text cut short could still never equal the source's, as it would
 * have to hold all of the rows the count says (their texts end unambiguously).
 */
export function targetBucketDigests(
  table: string,
  plan: DigestPlan,
  range: BucketRange,
  window: BucketWindow,
  live: string | undefined,
  owner: RowOwner | undefined,
): Statement {
  const key = plan.targetKey;
  const within = targetWithin(key, range);
  const low = range.first + window.from * range.width;
  const high = minOf(range.first + window.to * range.width + range.width - 1n, range.last);
  const where = [`${key} >= ?`, `${key} <= ?`, ...within.sql];
  const values: unknown[] = [range.first, range.width, low, high, ...within.values];
  if (live !== undefined) where.push(live);
  if (owner !== undefined) {
    where.push(`${quoteIdent(owner.column)} = ?`);
    values.push(owner.value);
  }
  // Grouped by position: MySQL would take a column named like the alias `b` for it.
  return {
    sql:
      `SELECT COUNT(*), COALESCE(SUM(n), 0), COALESCE(GROUP_CONCAT(b, ':', n, ':', s ORDER BY b SEPARATOR ','), '')` +
      ` FROM (SELECT (${key} - ?) DIV ? AS b, COUNT(*) AS n,` +
      ` MD5(GROUP_CONCAT(${plan.targetRowSql} ORDER BY ${plan.targetOrderSql} SEPARATOR '')) AS s` +
      ` FROM ${quoteIdent(table)} WHERE ${where.join(' AND ')} GROUP BY 1) AS d`,
    values,
  };
}

/**
 * The keys of the listed buckets of `range` (in bucket order), as inclusive intervals in key
 * order: consecutive buckets joined, and with `within`, only the keys of its buckets.
 */
export function bucketKeyIntervals(range: BucketRange, buckets: readonly bigint[]): KeyInterval[] {
  let intervals = buckets.map((bucket) => {
    const low = range.first + bucket * range.width;
    return { low, high: minOf(low + range.width - 1n, range.last) };
  });
  if (range.within !== undefined) {
    const { first, width, buckets: coarse } = range.within;
    const allowed = coarse.map((bucket) => {
      const low = first + bucket * width;
      return { low, high: low + width - 1n };
    });
    intervals = intersect(intervals, allowed);
  }
  const joined: KeyInterval[] = [];
  for (const interval of intervals) {
    const last = joined[joined.length - 1];
    if (last !== undefined && last.high + 1n === interval.low) last.high = interval.high;
    else joined.push({ ...interval });
  }
  return joined;
}

export interface KeyInterval {
  low: bigint;
  high: bigint;
}

/** The keys in both lists of disjoint intervals, each in key order. */
function intersect(a: readonly KeyInterval[], b: readonly KeyInterval[]): KeyInterval[] {
  const both: KeyInterval[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const low = maxOf(a[i]!.low, b[j]!.low);
    const high = minOf(a[i]!.high, b[j]!.high);
    if (low <= high) both.push({ low, high });
    if (a[i]!.high < b[j]!.high) i++;
    else j++;
  }
  return both;
}

/**
 * Source rows (`columns`, text form) with keys in `intervals`, in key order: one range scan of
 * the key's index per interval, so only those rows are read.
 */
export function sourceBucketRows(
  table: SourceTableRef,
  columns: readonly string[],
  plan: DigestPlan,
  intervals: readonly KeyInterval[],
): PgStatement {
  const key = plan.sourceKey;
  return {
    text:
      `SELECT r.* FROM unnest($1::bigint[], $2::bigint[]) AS g(low, high) CROSS JOIN LATERAL (` +
      `SELECT ${columns.map(quotePgIdent).join(', ')} FROM ${quotePgTable(table.schema, table.table)}` +
      // Kept a subquery (ORDER BY): joined instead, it may be planned as a scan of the table.
      ` WHERE ${key} >= g.low AND ${key} <= g.high ORDER BY ${key}) AS r ORDER BY r.${key}`,
    values: [
      intervals.map((interval) => String(interval.low)),
      intervals.map((interval) => String(interval.high)),
    ],
  };
}

/** Target rows (`columns`) with keys in `intervals`, in key order; `owner`'s only. */
export function targetBucketRows(
  table: string,
  columns: readonly string[],
  plan: DigestPlan,
  intervals: readonly KeyInterval[],
  owner: RowOwner | undefined,
): Statement {
  const key = plan.targetKey;
  // OR'ed ranges of the key: the range optimizer reads each by the index.
  const ranges = intervals.map(() => `${key} BETWEEN ? AND ?`).join(' OR ');
  const values: unknown[] = intervals.flatMap((interval) => [interval.low, interval.high]);
  let where = `(${ranges})`;
  if (owner !== undefined) {
    where += ` AND ${quoteIdent(owner.column)} = ?`;
    values.push(owner.value);
  }
  return {
    sql: `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where} ORDER BY ${key}`,
    values,
  };
}

/** The smallest and largest source key, as text (NULLs for an empty table). */
export function sourceKeySpan(table: SourceTableRef, plan: DigestPlan): PgStatement {
  const key = plan.sourceKey;
  return {
    text: `SELECT min(${key})::text, max(${key})::text FROM ${quotePgTable(table.schema, table.table)}`,
    values: [],
  };
}

/** The smallest and largest key of the live target rows (`owner`'s only), as text. */
export function targetKeySpan(
  table: string,
  plan: DigestPlan,
  live: string | undefined,
  owner: RowOwner | undefined,
): Statement {
  const key = plan.targetKey;
  const where: string[] = [];
  const values: unknown[] = [];
  if (live !== undefined) where.push(live);
  if (owner !== undefined) {
    where.push(`${quoteIdent(owner.column)} = ?`);
    values.push(owner.value);
  }
  return {
    sql: `SELECT CAST(MIN(${key}) AS CHAR), CAST(MAX(${key}) AS CHAR) FROM ${quoteIdent(table)}${where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`}`,
    values,
  };
}
