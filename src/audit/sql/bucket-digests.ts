import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { quotePgIdent, quotePgTable } from '../../postgres/pg-client.js';
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
 * A field's part of the row text (see DigestPlan) as arguments of concat(), which skips NULLs,
 * over the inner query's column `name`. A rejected non-text value keeps the rejection mark,
 * which MySQL never writes there; a rejected text value is marked by `E` where its length goes.
 */
function sourceField(field: SourceField, name: string): string {
  if (!field.text) return `${name}, ';'`;
  if (!field.sql.includes(pgRejectSql)) return `octet_length(${name}), ':', ${name}`;
  return `CASE WHEN ${name} = ${pgRejectSql} THEN 'E' ELSE octet_length(${name})::text END, ':', ${name}`;
}

/** PostgreSQL: the row text over the inner query's columns `f0`, `f1`, … */
export function sourceRowSql(fields: readonly SourceField[]): string {
  return `concat(${fields.map((field, index) => sourceField(field, `f${index}`)).join(', ')})`;
}

/**
 * Per bucket of `range`: the bucket number, the count of source rows (those the mapping's filter
 * passes) and the MD5 of their texts joined in key order (see DigestPlan). Each bucket is one
 * range scan of the key's index, so its rows come in key order already; they are joined in the
 * order the subquery gives them, which costs nothing, where an ordered aggregate would sort each
 * bucket on its own (a few microseconds each, more than its rows cost at eight per bucket). Were
 * the order ever not kept, the bucket would only look different. The fields are computed in a
 * subquery kept apart, so each is evaluated once per row.
 */
export function sourceBucketDigests(
  table: SourceTableRef,
  plan: DigestPlan,
  range: BucketRange,
): PgStatement {
  const fields = plan.sourceFields.map((field, index) => `${field.sql} AS f${index}`).join(', ');
  // The key column itself, which the index scan gives in order (no sort), then the other key
  // columns' texts byte by byte (see DigestPlan).
  const order = [
    plan.sourceKey,
    ...plan.sourceFields.slice(1, plan.keyFields).map((field) => `(${field.sql}) COLLATE "C"`),
  ];
  const key = plan.sourceKey;
  const within = sourceWithin(key, range, 5);
  const filter = plan.sourceFilter === undefined ? '' : ` AND (${plan.sourceFilter})`;
  const buckets =
    range.within === undefined ? 'generate_series(0::bigint, $4::bigint)' : 'unnest($4::bigint[])';
  return {
    text:
      `SELECT g.b, d.n, d.s FROM ${buckets} AS g(b) CROSS JOIN LATERAL (` +
      `SELECT count(*) AS n, md5(string_agg(${sourceRowSql(plan.sourceFields)}, '')) AS s` +
      ` FROM (SELECT ${fields} FROM ${quotePgTable(table.schema, table.table)}` +
      // The bucket's last key never passes the range's (nor overflows a BIGINT).
      ` WHERE ${key} >= $1::bigint + g.b * $3::bigint` +
      ` AND ${key} <= $1::bigint + least(g.b * $3::bigint + ($3::bigint - 1), $2::bigint - $1::bigint)` +
      `${within.sql}${filter} ORDER BY ${order.join(', ')}) AS r) AS d WHERE d.n > 0 ORDER BY 1`,
    values: [
      String(range.first),
      String(range.last),
      String(range.width),
      range.within === undefined
        ? String(bucketCount(range) - 1n)
        : withinBuckets(range).map(String),
      ...within.values,
    ],
  };
}

function bucketCount(range: BucketRange): bigint {
  return (range.last - range.first + range.width) / range.width;
}

/** The buckets of `range` that hold keys of its `within` buckets, in order. */
function withinBuckets(range: BucketRange): bigint[] {
  const { first, width, buckets } = range.within!;
  const found: bigint[] = [];
  for (const coarse of buckets) {
    const low = first + coarse * width;
    const high = low + width - 1n;
    const from = (max(low, range.first) - range.first) / range.width;
    const to = (min(high, range.last) - range.first) / range.width;
    for (let bucket = from; bucket <= to; bucket++) {
      if (found.length === 0 || found[found.length - 1]! < bucket) found.push(bucket);
    }
  }
  return found;
}

const min = (a: bigint, b: bigint) => (a < b ? a : b);
const max = (a: bigint, b: bigint) => (a > b ? a : b);

/**
 * The same per bucket of the target: live rows only, and only `owner`'s in a shared table.
 * Grouped by position: MySQL would take a column named like the alias `b` for it. The audit's
 * MES sessions allow a long GROUP_CONCAT (run-audit.ts); one cut short could still never equal
 * the source's text, whose rows it would have to hold all of (their texts end unambiguously).
 */
export function targetBucketDigests(
  table: string,
  plan: DigestPlan,
  range: BucketRange,
  live: string | undefined,
  owner: RowOwner | undefined,
): Statement {
  const key = plan.targetKey;
  const within = targetWithin(key, range);
  const where = [`${key} >= ?`, `${key} <= ?`, ...within.sql];
  const values: unknown[] = [range.first, range.width, range.first, range.last, ...within.values];
  if (live !== undefined) where.push(live);
  if (owner !== undefined) {
    where.push(`${quoteIdent(owner.column)} = ?`);
    values.push(owner.value);
  }
  return {
    sql:
      `SELECT (${key} - ?) DIV ? AS b, COUNT(*) AS n,` +
      ` MD5(GROUP_CONCAT(${plan.targetRowSql} ORDER BY ${plan.targetOrderSql} SEPARATOR '')) AS s` +
      ` FROM ${quoteIdent(table)} WHERE ${where.join(' AND ')} GROUP BY 1 ORDER BY 1`,
    values,
  };
}

/** Source rows (`columns`, text form) of the listed buckets of `range`, in key order. */
export function sourceBucketRows(
  table: SourceTableRef,
  columns: readonly string[],
  plan: DigestPlan,
  range: BucketRange,
  buckets: readonly bigint[],
): PgStatement {
  const key = plan.sourceKey;
  const within = sourceWithin(key, range, 5);
  return {
    text:
      `SELECT ${columns.map(quotePgIdent).join(', ')} FROM ${quotePgTable(table.schema, table.table)}` +
      ` WHERE ${key} >= $1::bigint AND ${key} <= $2::bigint` +
      ` AND (${key}::bigint - $1::bigint) / $3::bigint = ANY($4::bigint[])${within.sql} ORDER BY ${key}`,
    values: [
      String(range.first),
      String(range.last),
      String(range.width),
      buckets.map((bucket) => String(bucket)),
      ...within.values,
    ],
  };
}

/** Target rows (`columns`) of the listed buckets of `range`, in key order; `owner`'s only. */
export function targetBucketRows(
  table: string,
  columns: readonly string[],
  plan: DigestPlan,
  range: BucketRange,
  buckets: readonly bigint[],
  owner: RowOwner | undefined,
): Statement {
  const key = plan.targetKey;
  const within = targetWithin(key, range);
  const where = [
    `${key} >= ?`,
    `${key} <= ?`,
    `(${key} - ?) DIV ? IN (${buckets.map(() => '?').join(', ')})`,
    ...within.sql,
  ];
  const values: unknown[] = [
    range.first,
    range.last,
    range.first,
    range.width,
    ...buckets,
    ...within.values,
  ];
  if (owner !== undefined) {
    where.push(`${quoteIdent(owner.column)} = ?`);
    values.push(owner.value);
  }
  return {
    sql: `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where.join(' AND ')} ORDER BY ${key}`,
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
