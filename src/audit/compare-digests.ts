import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { DigestPlan } from './digest-plan.js';
import { classifyChunk, type DifferenceHandler, judgeRangeRows } from './range-rows.js';
import type { RowModel } from './row-model.js';
import { querySource } from './source-reader.js';
import {
  type BucketRange,
  sourceBucketDigests,
  sourceBucketRows,
  sourceKeySpan,
  targetBucketDigests,
  targetBucketRows,
  targetKeySpan,
} from './sql/bucket-digests.js';
import type { MappingTally } from './tally.js';
import { queryRows } from './target-reader.js';

/** What the digest walk needs; counts go into `stats` as the row passes count them. */
export interface DigestPassOptions {
  readonly source: PgClient;
  readonly target: MysqlConnection;
  readonly model: RowModel;
  readonly tally: MappingTally;
  readonly plan: DigestPlan;
  /** The soft-delete condition selecting live target rows; undefined when all are. */
  readonly liveSql: string | undefined;
  readonly onDifference?: DifferenceHandler;
}

export interface DigestStats {
  sourceRead: number;
  targetRead: number;
  hashedChunks: number;
  rowChunks: number;
}

/**
 * Keys per bucket of the first pass over the whole key span: small enough that with 1% of rows
 * differing spread evenly about half the buckets are clean (the second pass digests only the
 * others again), within 1,024..65,536 buckets: each is one short answer row per side, so even
 * the most cost far less than digesting the table a second time.
 */
const keysPerCoarseBucket = 64n;
const minCoarseBuckets = 1024n;
const maxCoarseBuckets = 65_536n;
/** Rows a bucket of the second pass aims at: small enough that a few differences spoil few rows. */
const rowsPerFineBucket = 8n;
/** Differing first-pass buckets one second-pass statement digests again (bounds its answer). */
const coarsePerStatement = 1024;
/** Differing second-pass buckets whose rows are read in one statement per side. */
const bucketsPerRowRead = 512;
/** Beyond this key span bucket numbers could overflow a BIGINT on one side. */
const maxSpan = 1n << 62n;
const modulus = 1n << 64n;

interface BucketDigest {
  readonly count: bigint;
  /** XOR of the row hashes, as an unsigned 64-bit value. */
  readonly sum: bigint;
}

/** A bucket whose digests differ, with both counts. */
interface Mismatch {
  readonly bucket: bigint;
  readonly rows: bigint;
}

/**
 * The `digest` strategy: both databases digest the mapping's rows per key bucket (DigestPlan);
 * buckets with equal digests are matched without a row crossing the network. A first pass cuts
 * the key span into buckets of 64 keys (1,024 to 65,536 of them); the differing ones are
 * digested again, a few hundred per statement, in buckets of about eight rows; the rows of the buckets that still differ are read from both sides and
 * compared in JavaScript like any range, so every difference is reported exactly as the row
 * path reports it. Returns false, having read nothing, when the key span is too wide for bucket
 * arithmetic (the caller compares by rows then).
 */
export async function compareByDigest(
  options: DigestPassOptions,
  stats: DigestStats,
): Promise<boolean> {
  const span = await keySpan(options);
  if (span === undefined) return true;
  if (span.last - span.first >= maxSpan) return false;
  const keys = span.last - span.first + 1n;
  const buckets = clamp(keys / keysPerCoarseBucket, minCoarseBuckets, maxCoarseBuckets);
  const coarse: BucketRange = { ...span, width: ceilDivide(keys, buckets) };
  const mismatches = await compareBuckets(options, stats, coarse);
  const runs = groupRuns(mismatches);
  let next = runs.length > 0 ? fineDigests(options, fineRange(coarse, runs[0]!)) : undefined;
  for (let i = 0; i < runs.length; i++) {
    const range = fineRange(coarse, runs[i]!);
    const digests = await next!;
    // The next run's digests are computed while this run's rows are compared.
    next = i + 1 < runs.length ? fineDigests(options, fineRange(coarse, runs[i + 1]!)) : undefined;
    const differing = matchBuckets(options, stats, digests.source, digests.target);
    for (let start = 0; start < differing.length; start += bucketsPerRowRead) {
      const buckets = differing.slice(start, start + bucketsPerRowRead).map((m) => m.bucket);
      await compareBucketRows(options, stats, range, buckets);
    }
  }
  return true;
}

/** The union of both sides' key spans; undefined when both are empty. */
async function keySpan(
  options: DigestPassOptions,
): Promise<{ first: bigint; last: bigint } | undefined> {
  const { source, target, model, plan, liveSql } = options;
  const sourceStatement = sourceKeySpan(model.mapping.source, plan);
  const targetStatement = targetKeySpan(model.mapping.target, plan, liveSql, model.mapping.owner);
  const [sourceRows, targetRows] = await Promise.all([
    querySource(source, sourceStatement),
    queryRows(target, targetStatement),
  ]);
  const bounds = [...sourceRows, ...targetRows]
    .filter((row) => row[0] !== null && row[0] !== undefined)
    .map((row) => [BigInt(String(row[0])), BigInt(String(row[1]))] as const);
  if (bounds.length === 0) return undefined;
  const first = bounds.reduce((low, [min]) => (min < low ? min : low), bounds[0]![0]);
  const last = bounds.reduce((high, [, max]) => (max > high ? max : high), bounds[0]![1]);
  return { first, last };
}

function clamp(value: bigint, low: bigint, high: bigint): bigint {
  return value < low ? low : value > high ? high : value;
}

function ceilDivide(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

type DigestRows = readonly (readonly unknown[])[];

/** Both sides' bucket digests of a range, asked for at once. */
async function bucketDigests(
  options: DigestPassOptions,
  range: BucketRange,
): Promise<{ source: DigestRows; target: DigestRows }> {
  const { source, target, model, plan, liveSql } = options;
  const [sourceRows, targetRows] = await Promise.all([
    querySource(source, sourceBucketDigests(model.mapping.source, plan, range)),
    queryRows(
      target,
      targetBucketDigests(model.mapping.target, plan, range, liveSql, model.mapping.owner),
    ),
  ]);
  return { source: sourceRows, target: targetRows };
}

function fineDigests(options: DigestPassOptions, range: BucketRange) {
  const pending = bucketDigests(options, range);
  // Awaited later; a failure is seen there.
  pending.catch(() => undefined);
  return pending;
}

async function compareBuckets(
  options: DigestPassOptions,
  stats: DigestStats,
  range: BucketRange,
): Promise<Mismatch[]> {
  const digests = await bucketDigests(options, range);
  return matchBuckets(options, stats, digests.source, digests.target);
}

function digestOf(row: readonly unknown[]): [bigint, BucketDigest] {
  const sum = BigInt(String(row[2] ?? '0')) % modulus;
  return [
    BigInt(String(row[0])),
    { count: BigInt(String(row[1])), sum: sum < 0n ? sum + modulus : sum },
  ];
}

/**
 * Walks both sides' bucket digests (each in bucket order): equal buckets are counted as matched,
 * the others returned in bucket order with the larger of their two row counts.
 */
function matchBuckets(
  options: DigestPassOptions,
  stats: DigestStats,
  sourceRows: DigestRows,
  targetRows: DigestRows,
): Mismatch[] {
  const mismatches: Mismatch[] = [];
  let s = 0;
  let t = 0;
  while (s < sourceRows.length || t < targetRows.length) {
    const [sb, sd] = s < sourceRows.length ? digestOf(sourceRows[s]!) : [undefined, undefined];
    const [tb, td] = t < targetRows.length ? digestOf(targetRows[t]!) : [undefined, undefined];
    if (sb !== undefined && (tb === undefined || sb < tb)) {
      mismatches.push({ bucket: sb, rows: sd!.count });
      s++;
    } else if (tb !== undefined && (sb === undefined || tb < sb)) {
      mismatches.push({ bucket: tb, rows: td!.count });
      t++;
    } else {
      s++;
      t++;
      if (sd!.count === td!.count && sd!.sum === td!.sum) {
        const count = Number(sd!.count);
        options.tally.recordMatched(count);
        stats.sourceRead += count;
        stats.targetRead += count;
        stats.hashedChunks++;
      } else {
        const rows = sd!.count > td!.count ? sd!.count : td!.count;
        mismatches.push({ bucket: sb!, rows });
      }
    }
  }
  return mismatches;
}

/** Differing first-pass buckets in groups of at most coarsePerStatement, in bucket order. */
function groupRuns(mismatches: readonly Mismatch[]): Mismatch[][] {
  const runs: Mismatch[][] = [];
  for (let start = 0; start < mismatches.length; start += coarsePerStatement) {
    runs.push(mismatches.slice(start, start + coarsePerStatement));
  }
  return runs;
}

/**
 * The keys of a group of first-pass buckets (only theirs: the clean buckets between them are
 * left out), cut into buckets of about rowsPerFineBucket rows.
 */
function fineRange(coarse: BucketRange, run: readonly Mismatch[]): BucketRange {
  const densest = run.reduce((most, mismatch) => (mismatch.rows > most ? mismatch.rows : most), 1n);
  const width = (rowsPerFineBucket * coarse.width) / densest;
  const first = coarse.first + run[0]!.bucket * coarse.width;
  const end = coarse.first + (run[run.length - 1]!.bucket + 1n) * coarse.width - 1n;
  return {
    first,
    last: end < coarse.last ? end : coarse.last,
    width: width > 0n ? width : 1n,
    within: {
      first: coarse.first,
      width: coarse.width,
      buckets: run.map((mismatch) => mismatch.bucket),
    },
  };
}

/** Reads the rows of the given buckets from both sides and compares them row by row. */
async function compareBucketRows(
  options: DigestPassOptions,
  stats: DigestStats,
  range: BucketRange,
  buckets: readonly bigint[],
): Promise<void> {
  const { source, target, model, tally, plan, onDifference } = options;
  const [sourceRows, targetRows] = await Promise.all([
    querySource(
      source,
      sourceBucketRows(model.mapping.source, model.sourceColumns, plan, range, buckets),
    ),
    queryRows(
      target,
      targetBucketRows(
        model.mapping.target,
        model.targetSelect,
        plan,
        range,
        buckets,
        model.mapping.owner,
      ),
    ),
  ]);
  stats.sourceRead += sourceRows.length;
  stats.rowChunks++;
  const images = classifyChunk(model, sourceRows);
  stats.targetRead += await judgeRangeRows(model, tally, images, [targetRows], onDifference);
}
