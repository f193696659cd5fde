import type { Logger } from '../log/logger.js';
import type { CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import { holdsRowsAbove, type LoadPlan, loadRows } from '../mysql/load-data/load-rows.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { TargetWriter } from '../mysql/writer.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { TargetValue } from '../values/column-types.js';
import type { BackfillCounters } from './backfill-store.js';
import { type ChunkRead, type CopiedChunk, copyChunk } from './copy-chunk.js';
import type { SourceReadPlan } from './source-reader.js';

/** Where the copy stands: the counters and keyset position the next commit records. */
export interface ChunkEnd {
  readonly counters: BackfillCounters;
  readonly lastKey: readonly string[] | null;
  /** The source has no rows after this chunk. */
  readonly exhausted: boolean;
}

interface LoadChunksOptions {
  readonly source: PgClient;
  /** The writer's own connection: loads run in the writer's open transaction. */
  readonly target: MysqlConnection;
  readonly writer: TargetWriter;
  readonly mapping: CompiledMapping;
  readonly read: SourceReadPlan;
  readonly load: LoadPlan;
  readonly chunkSize: number;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Writes the chunk after `after` through the writer's statements (rows one by one if refused). */
  readonly writeByStatements: (
    after: readonly string[] | null,
    counters: BackfillCounters,
  ) => Promise<ChunkEnd>;
  /** Commits the open transaction with the progress row at `end`. */
  readonly commit: (end: ChunkEnd) => Promise<void>;
}

const noWrites = Object.freeze({ resets: [], tables: [], deadLetters: [] });

/**
 * The copy phase through COPY and LOAD DATA: each chunk is read with COPY, mapped and streamed
 * into LOAD DATA LOCAL as it arrives, then committed with its progress row. The next chunk's
 * COPY starts as soon as this one's is read, while MySQL still loads. A chunk whose load does not
 * land exactly (a value MySQL refuses, a key already present) is rolled back and written through
 * the writer's statements, which find the rows at fault. False when stopped.
 */
export async function loadChunks(
  options: LoadChunksOptions,
  from: { readonly counters: BackfillCounters; readonly lastKey: readonly string[] | null },
): Promise<boolean> {
  let counters = from.counters;
  let after = from.lastKey;
  let previous: SourceRow | null = null;
  // Once the target holds no row above where the copy stands, it never does again: only this
  // copy writes it, in key order. (Where that order is not the target's, a chunk colliding with
  // rows loaded before is refused and goes through the writer.)
  let clearAbove = false;
  let current: CopiedChunk | null = startChunk(options, after);
  while (current !== null) {
    if (options.signal.aborted) {
      await discard(current);
      return false;
    }
    if (!clearAbove) {
      const key = targetKeyAfter(options, after, previous);
      clearAbove = !(await holdsRowsAbove(options.target, options.load, key));
    }
    const chunk: CopiedChunk = current;
    // The writer's transaction (and its session settings) opens in the load's own round trip.
    const opening = await options.writer.opening();
    const loading = loadRows(options.target, options.load, chunk.file, {
      direct: clearAbove,
      opening,
    });
    // A load that fails before taking the file must not leave the COPY waiting for a reader.
    loading.catch(() => chunk.file.destroy());
    const read: ChunkRead = await Promise.race([chunk.read, loading.then(() => chunk.read)]);
    let next: CopiedChunk | null =
      read.rows === options.chunkSize ? startChunk(options, read.lastKey) : null;
    const outcome = await loading;
    let end: ChunkEnd;
    if (outcome.loaded) {
      if (read.deadLetters.length > 0) {
        await options.writer.apply({ ...noWrites, deadLetters: read.deadLetters });
      }
      end = { counters: countChunk(counters, read), lastKey: read.lastKey, exhausted: !next };
      previous = read.lastRow;
    } else {
      options.logger.debug(
        { mapping: options.mapping.name, reason: outcome.reason },
        'LOAD DATA did not land exactly: the chunk goes through the writer',
      );
      // The fallback reads the chunk again on the same source connection, after the prefetch.
      if (next !== null) await discard(next);
      end = await options.writeByStatements(after, counters);
      next = end.exhausted ? null : startChunk(options, end.lastKey);
      previous = null;
    }
    await options.commit(end);
    counters = end.counters;
    after = end.lastKey;
    current = next;
  }
  return true;
}

function startChunk(options: LoadChunksOptions, after: readonly string[] | null): CopiedChunk {
  return copyChunk({
    source: options.source,
    mapping: options.mapping,
    read: options.read,
    load: options.load,
    after,
    limit: options.chunkSize,
  });
}

/** Reads an unwanted chunk to its end, so the source connection is free for the next query. */
async function discard(chunk: CopiedChunk): Promise<void> {
  chunk.file.resume();
  await chunk.read;
}

function countChunk(counters: BackfillCounters, read: ChunkRead): BackfillCounters {
  return {
    ...counters,
    rowsRead: counters.rowsRead + read.rows,
    rowsCopied: counters.rowsCopied + read.counts.copied,
    deadLetters: counters.deadLetters + read.deadLetters.length,
  };
}

/**
 * The target key of the last row before the chunk, below which the target's rows cannot collide
 * with the chunk's when keys keep their order through the mapping; null (ask whether the table
 * holds any row) when unknown. Only a guess at which way is faster: a load into keys already
 * present is refused and redone through the writer either way.
 */
function targetKeyAfter(
  options: LoadChunksOptions,
  after: readonly string[] | null,
  previous: SourceRow | null,
): readonly TargetValue[] | null {
  const { mapping, read } = options;
  const sameOrder =
    read.keyColumns.length === mapping.sourceKeyColumns.length &&
    read.keyColumns.every((column, index) => mapping.sourceKeyColumns[index] === column);
  if (after === null || !sameOrder) return null;
  const row =
    previous ??
    Object.fromEntries(read.keyColumns.map((column, index) => [column, after[index] ?? null]));
  try {
    return mapping.key(row);
  } catch {
    return null;
  }
}
