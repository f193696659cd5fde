import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { PgClient } from '../postgres/pg-client.js';
import { ceilDivide, clamp, minOf } from '../util/bigints.js';
import type { DigestPlan } from './digest-plan.js';
import { classifyChunk, type DifferenceHandler, judgeRangeRows } from './range-rows.js';
import type { RowModel } from './row-model.js';
import { querySource } from './source-reader.js';
import {
  type BucketRange,
  type BucketWindow,
  bucketCount,
  bucketKeyIntervals,
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
  /** A second CRM session: each range's source digest is split in two halves, one per session. */
  readonly sourceHelper?: PgClient;
  readonly target: MysqlConnection;
  /** A second MES session, likewise for the target's digests. */
  readonly targetHelper?: MysqlConnection;
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
 * Keys per bucket of the coarse cut: small enough that with 1% of rows differing spread evenly
 * about half the buckets are clean, within 1,024..65,536 buckets over the whole key span.
 */
const keysPerCoarseBucket = 64n;
const minCoarseBuckets = 1024n;
const maxCoarseBuckets = 65_536n;
/**
 * Coarse buckets of the first range, then of each later one: the first is a small sample that
 * tells how widespread the differences are before most of the span is digested; later ones
 * bound each answer (one short entry per bucket and side) and are few, since the servers idle a
 * moment between statements.
 */
const firstRangeBuckets = 256n;
const rangeBuckets = 8192n;
/** Fine buckets one statement digests at most, whatever the key density. */
const maxFineBuckets = 16_384n;
/** Rows a fine bucket aims at: small enough that a few differences spoil few rows. */
const rowsPerFineBucket = 8n;
/**
 * Above this share of differing coarse buckets the next range is digested at the fine width
 * directly (one pass): a coarse pass would digest that share of its rows a second time, and a
 * fine pass costs little more than a coarse one.
 */
const fineShare = 0.1;
/** Differing coarse buckets one second-pass statement digests again (bounds its answer). */
const coarsePerStatement = 1024;
/** Differing fine buckets whose rows are read in one statement per side. */
const bucketsPerRowRead = 512;
/** Beyond this key span bucket numbers could overflow a BIGINT on one side. */
const maxSpan = 1n << 62n;

/** A bucket whose digests differ, with the larger of its two row counts. */
interface Mismatch {
  readonly bucket: bigint;
  readonly rows: bigint;
}

/** One range's answer, matched: its differing buckets and the rows it holds (the larger side). */
interface RangeMatch {
  readonly mismatches: Mismatch[];
  readonly rows: bigint;
}

/**
 * The `digest` strategy: both databases digest the mapping's rows per key bucket (DigestPlan);
 * buckets with equal digests are matched without a row crossing the network. The key span is
 * walked in ranges, one statement per side each, the next range's digests asked for while the
 * current one's differing rows are read and compared. A range is cut in coarse buckets (64 keys,
 * 1,024 to 65,536 over the span) whose differing ones are digested again in buckets of about
 * eight rows; when a range shows differences in more than a tenth of its coarse buckets, the
 * following ranges are cut at that fine width directly (one pass), and back to coarse once they
 * show few. The rows of the fine buckets that differ are read from both sides and compared in
 * JavaScript like any range, so every difference is reported exactly as the row path reports
 * it. Returns false, having read nothing, when the key span is too wide for bucket arithmetic
 * (the caller compares by rows then).
 */
export async function compareByDigest(
  options: DigestPassOptions,
  stats: DigestStats,
): Promise<boolean> {
  const span = await keySpan(options);
  if (span === undefined) return true;
  if (span.last - span.first >= maxSpan) return false;
  const keys = span.last - span.first + 1n;
  const coarseWidth = ceilDivide(
    keys,
    clamp(keys / keysPerCoarseBucket, minCoarseBuckets, maxCoarseBuckets),
  );
  let range: BucketRange | undefined = cutRange(
    span.first,
    span.last,
    coarseWidth,
    firstRangeBuckets * coarseWidth,
  );
  let pending = askDigests(options, range);
  while (range !== undefined) {
    const current: BucketRange = range;
    const matched = matchRange(options, stats, await pending);
    const width = nextWidth(current, matched, coarseWidth);
    const limit =
      width === coarseWidth
        ? rangeBuckets * coarseWidth
        : minOf(rangeBuckets * coarseWidth, maxFineBuckets * width);
    range =
      current.last < span.last ? cutRange(current.last + 1n, span.last, width, limit) : undefined;
    const following = range;
    // Queued behind this range's first row read, so the servers digest it while Node compares.
    const startNext = once(() => {
      if (following !== undefined) pending = askDigests(options, following);
    });
    await settleRange(options, stats, current, matched.mismatches, coarseWidth, startNext);
    startNext();
  }
  return true;
}

/** Keys `first..` at `width` per bucket, `keys` of them at most, never past `last`. */
function cutRange(first: bigint, last: bigint, width: bigint, keys: bigint): BucketRange {
  return { first, last: minOf(first + keys - 1n, last), width };
}

/**
 * The width of the next range: fine when more than fineShare of this range's coarse buckets
 * differ (counted from the fine buckets when it was cut fine), with about rowsPerFineBucket
 * rows per bucket at this range's density; coarse otherwise.
 */
function nextWidth(range: BucketRange, matched: RangeMatch, coarseWidth: bigint): bigint {
  const keys = range.last - range.first + 1n;
  const coarse = new Set(matched.mismatches.map((m) => (m.bucket * range.width) / coarseWidth));
  const share = coarse.size / Number(ceilDivide(keys, coarseWidth));
  if (share <= fineShare || matched.rows === 0n) return coarseWidth;
  const width = (rowsPerFineBucket * keys) / matched.rows;
  return width < 1n ? 1n : width > coarseWidth ? coarseWidth : width;
}

/**
 * Compares what differs in one range: a coarse range's differing buckets are digested again
 * finely first; the rows of the fine buckets that still differ are read and compared.
 * `startNext` is called once the first row read is asked for.
 */
async function settleRange(
  options: DigestPassOptions,
  stats: DigestStats,
  range: BucketRange,
  mismatches: readonly Mismatch[],
  coarseWidth: bigint,
  startNext: () => void,
): Promise<void> {
  if (range.width !== coarseWidth) {
    await compareDiffering(options, stats, range, mismatches, startNext);
    return;
  }
  for (let start = 0; start < mismatches.length; start += coarsePerStatement) {
    const run = mismatches.slice(start, start + coarsePerStatement);
    // Buckets of a sparse stretch already hold few rows: digesting them again gains nothing.
    if (run.every((mismatch) => mismatch.rows <= rowsPerFineBucket)) {
      await compareDiffering(options, stats, range, run, startNext);
      continue;
    }
    const fine = fineRange(range, run);
    const matched = matchRange(options, stats, await askDigests(options, fine));
    await compareDiffering(options, stats, fine, matched.mismatches, startNext);
  }
}

/** Reads and compares the rows of the differing buckets, bucketsPerRowRead per statement. */
async function compareDiffering(
  options: DigestPassOptions,
  stats: DigestStats,
  range: BucketRange,
  differing: readonly Mismatch[],
  startNext: () => void,
): Promise<void> {
  for (let start = 0; start < differing.length; start += bucketsPerRowRead) {
    const batch = differing.slice(start, start + bucketsPerRowRead);
    const reading = readBucketRows(
      options,
      range,
      batch.map((mismatch) => mismatch.bucket),
    );
    startNext();
    await compareBucketRows(options, stats, await reading);
  }
}

function once(action: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    action();
  };
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

/** One side's digests of a range's buckets, as the statement returns them (sql/bucket-digests.ts). */
interface RangeDigests {
  /** Buckets holding rows. */
  readonly buckets: number;
  readonly rows: number;
  /** `<bucket>:<rows>:<md5>` per bucket holding rows, comma-separated in bucket order. */
  readonly text: string;
}

type Digests = { readonly source: RangeDigests; readonly target: RangeDigests };

/**
 * Both sides' bucket digests of a range, asked for at once. The promise may be awaited later (a
 * failure is seen there), so it never goes unhandled meanwhile.
 */
function askDigests(options: DigestPassOptions, range: BucketRange): Promise<Digests> {
  const { source, sourceHelper, target, targetHelper, model, plan, liveSql } = options;
  const sourceStatement = (session: PgClient) => async (window: BucketWindow) =>
    rangeDigests(
      await querySource(session, sourceBucketDigests(model.mapping.source, plan, range, window)),
    );
  const targetStatement = (session: MysqlConnection) => async (window: BucketWindow) =>
    rangeDigests(
      await queryRows(
        session,
        targetBucketDigests(
          model.mapping.target,
          plan,
          range,
          window,
          liveSql,
          model.mapping.owner,
        ),
      ),
    );
  const pending = Promise.all([
    inHalves(range, sourceStatement(source), sourceHelper && sourceStatement(sourceHelper)),
    inHalves(range, targetStatement(target), targetHelper && targetStatement(targetHelper)),
  ]).then(([sourceDigests, targetDigests]) => ({ source: sourceDigests, target: targetDigests }));
  pending.catch(() => undefined);
  return pending;
}

function rangeDigests(rows: readonly (readonly unknown[])[]): RangeDigests {
  const [buckets, count, text] = rows[0]!;
  return { buckets: Number(buckets), rows: Number(count), text: String(text) };
}

/**
 * One side's bucket digests of a range: with a second session, the range's two halves of its
 * buckets at once, one per session, the second's entries following the first's. Each side's
 * statement is CPU-bound on its server; two let a side use both cores while the other side's is
 * done, whichever of the two costs more per row.
 */
async function inHalves(
  range: BucketRange,
  digest: (window: BucketWindow) => Promise<RangeDigests>,
  helper: ((window: BucketWindow) => Promise<RangeDigests>) | undefined,
): Promise<RangeDigests> {
  const last = bucketCount(range) - 1n;
  if (helper === undefined || last < 1n) return digest({ from: 0n, to: last });
  const half = (last + 1n) / 2n;
  const [low, high] = await Promise.all([
    digest({ from: 0n, to: half - 1n }),
    helper({ from: half, to: last }),
  ]);
  return {
    buckets: low.buckets + high.buckets,
    rows: low.rows + high.rows,
    text: low.text === '' || high.text === '' ? low.text + high.text : `${low.text},${high.text}`,
  };
}

/** A bucket's entry in a RangeDigests text, parsed. */
interface Entry {
  readonly bucket: number;
  readonly rows: number;
  readonly text: string;
}

function entries(text: string): Entry[] {
  if (text === '') return [];
  return text.split(',').map((entry) => {
    const first = entry.indexOf(':');
    const second = entry.indexOf(':', first + 1);
    return {
      bucket: Number(entry.slice(0, first)),
      rows: Number(entry.slice(first + 1, second)),
      text: entry,
    };
  });
}

/**
 * Matches both sides' bucket digests: equal buckets are counted as matched (all at once when
 * the two texts are equal, as in a consistent range), the others returned in bucket order with
 * the larger of their two row counts.
 */
function matchRange(options: DigestPassOptions, stats: DigestStats, digests: Digests): RangeMatch {
  const { source, target } = digests;
  if (source.text === target.text) {
    options.tally.recordMatched(source.rows);
    stats.sourceRead += source.rows;
    stats.targetRead += source.rows;
    stats.hashedChunks += source.buckets;
    return { mismatches: [], rows: BigInt(source.rows) };
  }
  const sourceEntries = entries(source.text);
  const targetEntries = entries(target.text);
  const mismatches: Mismatch[] = [];
  let rows = 0;
  let s = 0;
  let t = 0;
  while (s < sourceEntries.length || t < targetEntries.length) {
    const se = sourceEntries[s];
    const te = targetEntries[t];
    if (se !== undefined && (te === undefined || se.bucket < te.bucket)) {
      mismatches.push({ bucket: BigInt(se.bucket), rows: BigInt(se.rows) });
      rows += se.rows;
      s++;
    } else if (te !== undefined && (se === undefined || te.bucket < se.bucket)) {
      mismatches.push({ bucket: BigInt(te.bucket), rows: BigInt(te.rows) });
      rows += te.rows;
      t++;
    } else {
      s++;
      t++;
      const larger = Math.max(se!.rows, te!.rows);
      rows += larger;
      if (se!.text === te!.text) {
        options.tally.recordMatched(se!.rows);
        stats.sourceRead += se!.rows;
        stats.targetRead += se!.rows;
        stats.hashedChunks++;
      } else mismatches.push({ bucket: BigInt(se!.bucket), rows: BigInt(larger) });
    }
  }
  return { mismatches, rows: BigInt(rows) };
}

/**
 * The keys of a group of a coarse range's buckets (only theirs: the clean buckets between them
 * are left out), cut into buckets of about rowsPerFineBucket rows.
 */
function fineRange(coarse: BucketRange, run: readonly Mismatch[]): BucketRange {
  const densest = run.reduce((most, mismatch) => (mismatch.rows > most ? mismatch.rows : most), 1n);
  const width = (rowsPerFineBucket * coarse.width) / densest;
  const first = coarse.first + run[0]!.bucket * coarse.width;
  const end = coarse.first + (run[run.length - 1]!.bucket + 1n) * coarse.width - 1n;
  return {
    first,
    last: minOf(end, coarse.last),
    width: width > 0n ? width : 1n,
    within: {
      first: coarse.first,
      width: coarse.width,
      buckets: run.map((mismatch) => mismatch.bucket),
    },
  };
}

type BucketRows = readonly [readonly (readonly unknown[])[], readonly (readonly unknown[])[]];

/** Both sides' rows of the given buckets of `range` (in bucket order), asked for at once. */
function readBucketRows(
  options: DigestPassOptions,
  range: BucketRange,
  buckets: readonly bigint[],
): Promise<BucketRows> {
  const { source, target, model, plan } = options;
  const intervals = bucketKeyIntervals(range, buckets);
  if (intervals.length === 0) return Promise.resolve([[], []]);
  const pending = Promise.all([
    querySource(
      source,
      sourceBucketRows(model.mapping.source, model.sourceColumns, plan, intervals),
    ),
    queryRows(
      target,
      targetBucketRows(
        model.mapping.target,
        model.targetSelect,
        plan,
        intervals,
        model.mapping.owner,
      ),
    ),
  ] as const);
  pending.catch(() => undefined);
  return pending;
}

/** Compares the rows of some buckets row by row. */
async function compareBucketRows(
  options: DigestPassOptions,
  stats: DigestStats,
  [sourceRows, targetRows]: BucketRows,
): Promise<void> {
  const { model, tally, onDifference } = options;
  stats.sourceRead += sourceRows.length;
  stats.rowChunks++;
  const images = classifyChunk(model, sourceRows);
  stats.targetRead += await judgeRangeRows(model, tally, images, [targetRows], onDifference);
}
