import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { SourceFamily } from '../values/source-spec.js';
import { type ChunkHasher, liveCondition } from './chunk-hash.js';
import { compareByDigest } from './compare-digests.js';
import type { DigestPlan } from './digest-plan.js';
import { type KeyStrategy, sourceKeyLiteral } from './key-plan.js';
import {
  type ChunkImages,
  classifyChunk,
  type DifferenceHandler,
  judgeRangeRows,
} from './range-rows.js';
import type { ActualRow, ExpectedRow, RowModel, SourceImage } from './row-model.js';
import { lookupSource, readSourceChunks } from './source-reader.js';
import type { KeyBounds } from './sql/key-bounds.js';
import { selectTargetChunk } from './sql/target-keyset.js';
import { isDifference, type MappingTally } from './tally.js';
import {
  hashTargetRangeRows,
  lookupTarget,
  queryRows,
  readTargetRange,
  startTargetRange,
} from './target-reader.js';

interface ComparePassOptions {
  readonly source: PgClient;
  /** Second sessions on each side for the `digest` strategy (see DigestPassOptions). */
  readonly sourceHelper?: PgClient;
  readonly targetHelper?: MysqlConnection;
  readonly target: MysqlConnection;
  readonly model: RowModel;
  readonly tally: MappingTally;
  readonly strategy: KeyStrategy;
  /** For `range`: per-chunk digests, when every compared column allows them. */
  readonly hasher: ChunkHasher | undefined;
  /** Declared SQL types of the source key columns, for lookups by key. */
  readonly keyTypes: readonly string[];
  /** Source type family per key column, to turn target keys into source literals. */
  readonly keyFamilies: readonly SourceFamily[];
  /** For the `digest` strategy: both databases digest key buckets. */
  readonly digest?: DigestPlan | undefined;
  /** Rows per chunk on each side. */
  readonly chunkSize: number;
  readonly onDifference?: DifferenceHandler;
}

/** Scan statistics of one pass, for throughput figures. */
export interface PassStats {
  sourceRead: number;
  targetRead: number;
  /** Chunks settled by digest alone / compared row by row. */
  hashedChunks: number;
  rowChunks: number;
  /** Whether the `digest` strategy compared it. */
  digested: boolean;
}

/**
 * One full comparison of a mapping: every source row and every target row is seen once, and
 * each key ends up in the tally. Memory is one chunk per side plus the tally's bounded
 * candidates, whatever the table size.
 */
export async function comparePass(options: ComparePassOptions): Promise<PassStats> {
  const stats: PassStats = {
    sourceRead: 0,
    targetRead: 0,
    hashedChunks: 0,
    rowChunks: 0,
    digested: false,
  };
  if (options.digest !== undefined) {
    stats.digested = await compareByDigest(
      {
        source: options.source,
        ...(options.sourceHelper ? { sourceHelper: options.sourceHelper } : {}),
        target: options.target,
        ...(options.targetHelper ? { targetHelper: options.targetHelper } : {}),
        model: options.model,
        tally: options.tally,
        plan: options.digest,
        liveSql: liveCondition(options.model),
        ...(options.onDifference ? { onDifference: options.onDifference } : {}),
      },
      stats,
    );
    if (stats.digested) return stats;
  }
  if (options.strategy === 'range') await compareRanges(options, stats);
  else await compareByLookup(options, stats);
  return stats;
}

async function compareRanges(options: ComparePassOptions, stats: PassStats): Promise<void> {
  const { source, target, model, tally, hasher, chunkSize } = options;
  let after: readonly unknown[] | undefined;
  // Digests only pay when most chunks match: after a run of mismatches (differences spread
  // everywhere, an empty target) the next chunks go straight to rows, then digests are tried again.
  let misses = 0;
  let skip = 0;
  for await (const rows of readSourceChunks(source, model, chunkSize)) {
    stats.sourceRead += rows.length;
    // The chunk's upper bound, in target key values; the last chunk's range is open.
    let upTo: readonly unknown[] | undefined;
    if (rows.length === chunkSize) {
      upTo = lastConvertibleKey(model, rows);
      // No key of this chunk converts: its range merges into the next chunk's.
      if (upTo === undefined) continue;
    }
    const bounds: KeyBounds = { after, upTo };
    const useHash = hasher !== undefined && skip === 0;
    if (skip > 0) skip--;
    const hashed = useHash ? hashTargetRangeRows(target, model, hasher, bounds) : undefined;
    hashed?.catch(() => undefined);
    const firstRows = useHash ? undefined : startTargetRange(target, model, bounds, chunkSize);
    const images = classifyChunk(model, rows);

    if (hashed !== undefined) {
      // Computed while the server computes its own.
      const digest = images.clean ? hasher!.digest(images.expected) : undefined;
      const server = await hashed;
      if (digest !== undefined && digestsAgree(images.expected.length, digest, server)) {
        tally.recordMatched(images.expected.length);
        stats.targetRead += server.count;
        stats.hashedChunks++;
        misses = 0;
        after = upTo;
        continue;
      }
      if (++misses >= 3) {
        misses = 0;
        skip = 16;
      }
    }
    stats.rowChunks++;
    await compareRangeRows(options, stats, bounds, images, firstRows);
    after = upTo;
  }
}

/** The target key of the chunk's last row whose key converts; undefined when none does. */
function lastConvertibleKey(
  model: RowModel,
  rows: readonly (readonly unknown[])[],
): readonly unknown[] | undefined {
  for (let i = rows.length - 1; i >= 0; i--) {
    try {
      return model.bindKey(model.mapping.key(model.sourceRow(rows[i]!)));
    } catch {
      // A key the target cannot hold: its row is reported by image() later; look further back.
    }
  }
  return undefined;
}

/** Whether the target range holds exactly the expected rows, by count and digest. */
function digestsAgree(
  expected: number,
  digest: string,
  server: { readonly count: number; readonly digest: string | null },
): boolean {
  return server.count === expected && (server.count === 0 || server.digest === digest);
}

/** Compares a range row by row (see judgeRangeRows), the target read by keyset inside it. */
async function compareRangeRows(
  options: ComparePassOptions,
  stats: PassStats,
  bounds: KeyBounds,
  images: ChunkImages,
  firstRows: Promise<unknown[][]> | undefined,
): Promise<void> {
  const { target, model, tally, chunkSize, onDifference } = options;
  stats.targetRead += await judgeRangeRows(
    model,
    tally,
    images,
    readTargetRange(target, model, bounds, chunkSize, firstRows),
    onDifference,
  );
}

/**
 * The `lookup` strategy: pass A walks the source in its key order and looks each chunk's keys
 * up on the target (matched, different, missing); pass B walks the target in its key order and
 * looks each chunk's keys up on the source (extra, retained). Neither pass assumes the two
 * databases order keys alike.
 */
async function compareByLookup(options: ComparePassOptions, stats: PassStats): Promise<void> {
  const { source, target, model, tally, chunkSize, onDifference } = options;
  for await (const rows of readSourceChunks(source, model, chunkSize)) {
    stats.sourceRead += rows.length;
    const expected: ExpectedRow[] = [];
    for (const row of rows) {
      const image = model.image(model.sourceRow(row));
      if (image?.kind === 'expected') expected.push(image);
    }
    const found = new Map<string, ActualRow>();
    const keys = expected.map((image) => image.keyValues);
    const targetRows = await lookupTarget(target, model, keys);
    stats.targetRead += targetRows.length;
    for (const values of targetRows) {
      const actual = model.actual(values);
      // A collation may return `ABC` for `abc`: only the canonical key counts.
      if (!actual.deleted) found.set(actual.key, actual);
    }
    for (const image of expected) {
      const actual = found.get(image.key);
      const verdict = tally.record(image, actual, image.key, image.keyParts);
      if (onDifference !== undefined && isDifference(verdict)) {
        await onDifference(model, verdict, image, actual);
      }
    }
  }

  const { mapping, targetKeySelect, keyColumns, keyTargetColumns } = model;
  let after: readonly unknown[] | undefined;
  for (;;) {
    const targetRows = await queryRows(
      target,
      // Only this mapping's rows: another's in a shared table are not its extras.
      selectTargetChunk(
        mapping.target,
        targetKeySelect,
        keyColumns,
        after,
        chunkSize,
        mapping.owner,
      ),
    );
    if (targetRows.length === 0) break;
    stats.targetRead += targetRows.length;
    after = model.bindKey(targetRows[targetRows.length - 1]!.slice(0, keyColumns.length));
    const live: ActualRow[] = [];
    for (const values of targetRows) {
      const actual = model.actualKey(values);
      if (!actual.deleted) live.push(actual);
    }
    const literals: string[][] = [];
    for (const actual of live) {
      const literal = sourceLiterals(options.keyFamilies, keyTargetColumns, actual.keyParts);
      if (literal !== undefined) literals.push(literal);
    }
    const sourceRows = await lookupSource(source, model, options.keyTypes, literals);
    stats.sourceRead += sourceRows.length;
    const images = new Map<string, SourceImage>();
    for (const values of sourceRows) {
      const image = model.image(model.sourceRow(values));
      if (image !== undefined) images.set(image.key, image);
    }
    for (const actual of live) {
      const image = images.get(actual.key);
      // Source rows the filter passes were counted with their target row in pass A.
      if (image?.kind === 'expected') continue;
      const verdict = tally.record(image, actual, actual.key, actual.keyParts);
      if (onDifference !== undefined && isDifference(verdict)) {
        await onDifference(model, verdict, image, actual);
      }
    }
    if (targetRows.length < chunkSize) break;
  }
}

/** The PostgreSQL literals of a target key, or undefined when no source row can have it. */
export function sourceLiterals(
  families: readonly SourceFamily[],
  columns: RowModel['keyTargetColumns'],
  keyParts: readonly string[],
): string[] | undefined {
  const literals: string[] = [];
  for (let i = 0; i < keyParts.length; i++) {
    const literal = sourceKeyLiteral(families[i]!, columns[i]!, keyParts[i]!);
    if (literal === undefined) return undefined;
    literals.push(literal);
  }
  return literals;
}
