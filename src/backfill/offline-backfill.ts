import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { TargetWriter } from '../mysql/writer.js';
import type { TargetValue } from '../values/column-types.js';
import { TargetBatch } from '../writes/target-batch.js';
import type { WriteChunk } from '../writes/write-chunk.js';
import { ChunkSink, mapSourceRows, type RowCounts } from './add-source-rows.js';
import {
  type BackfillCounters,
  type BackfillPhase,
  type BackfillState,
  finishStatement,
  progressStatement,
} from './backfill-store.js';
import { keyOfRow, readChunk, type SourceQueryable, type SourceReadPlan } from './source-reader.js';
import {
  addRemovals,
  findStaleRows,
  type PrunePlan,
  readTargetKeys,
  type TargetQueryable,
} from './stale-rows.js';

/** Where one mapping's backfill stands, for progress bars and log lines. */
export interface BackfillProgress {
  readonly mapping: string;
  readonly phase: BackfillPhase;
  readonly counters: BackfillCounters;
  readonly rowsTotal: number | null;
}

/** Everything needed to copy one mapping, decided once per run. */
export interface MappingPlan {
  readonly mapping: CompiledMapping;
  readonly read: SourceReadPlan;
  readonly prune: PrunePlan;
}

export interface OfflineBackfillOptions {
  /** Reads the source chunks and looks stale keys up. */
  readonly source: SourceQueryable;
  /** Reads target keys for the prune phase (the writer's connection, between its commits). */
  readonly target: TargetQueryable;
  readonly writer: TargetWriter;
  readonly plan: MappingPlan;
  /** The run to perform: fresh, or resumed from its last committed chunk. */
  readonly state: BackfillState;
  readonly chunkSize: number;
  /** Stops after the chunk being written commits. */
  readonly signal: AbortSignal;
  readonly onProgress: (progress: BackfillProgress) => void;
}

export interface OfflineResult {
  readonly counters: BackfillCounters;
  /** Stopped by the signal before the end; the row in millrace_backfills says where to resume. */
  readonly interrupted: boolean;
}

/** Rows per read and per write of the offline copy: one multi-row statement of the writer. */
const offlinePieceRows = 2_000;
/** Most target keys checked per prune range (one transaction each). */
const maxPruneRows = 10_000;
/** Pieces read and mapped ahead of the one being written (memory: this many pieces of rows). */
const readAhead = 2;

const emptyChunk: WriteChunk = Object.freeze({ resets: [], tables: [], deadLetters: [] });

/** What follows the last piece: nothing, without asking the source again. */
function endOf(lastKey: readonly string[] | null): Promise<PreparedPiece> {
  return Promise.resolve({
    rows: 0,
    lastKey,
    chunk: emptyChunk,
    counts: { copied: 0, filtered: 0, skipped: 0, deadLetters: 0 },
  });
}

interface PreparedPiece {
  readonly rows: number;
  readonly lastKey: readonly string[] | null;
  readonly chunk: WriteChunk;
  readonly counts: RowCounts;
}

function isEmpty(chunk: WriteChunk): boolean {
  return chunk.deadLetters.length === 0 && chunk.resets.length === 0 && chunk.tables.length === 0;
}

/**
 * Copies one mapping while no replicator runs (the caller holds the slot's replicator lock):
 * keyset chunks of source rows through the compiled mapping into the one writer, each chunk
 * committed together with its progress row, so a killed backfill resumes after the last
 * committed chunk and never counts a row twice. The next chunk is read and mapped while the
 * current one is written. A re-backfill then removes target rows the source no longer produces.
 */
export async function backfillOffline(options: OfflineBackfillOptions): Promise<OfflineResult> {
  const { plan, state, writer, signal } = options;
  const { mapping } = plan;
  const runId = state.runId!;
  let counters: BackfillCounters = {
    rowsRead: state.rowsRead,
    rowsCopied: state.rowsCopied,
    rowsRemoved: state.rowsRemoved,
    deadLetters: state.deadLetters,
  };
  let rowsTotal = state.rowsTotal;
  let lastKey = state.lastKey;
  const report = (phase: BackfillPhase) =>
    options.onProgress({ mapping: mapping.name, phase, counters, rowsTotal });

  if (state.phase === 'copy') {
    // Rows are read, mapped and written in pieces of one statement's size, a chunk's pieces in
    // one transaction. Reading and mapping run ahead of the writes by a few pieces, so the
    // process maps while MySQL inserts; pieces are small, so their objects die young.
    const pieceRows = Math.min(options.chunkSize, offlinePieceRows);
    const prepare = async (after: readonly string[] | null): Promise<PreparedPiece> => {
      const rows = await readChunk(options.source, plan.read, after, pieceRows);
      const sink = new ChunkSink(mapping);
      const counts = mapSourceRows(mapping, rows, sink, {
        meta: { lsn: 0n, syncedAt: new Date() },
      });
      const last = rows.at(-1);
      return {
        rows: rows.length,
        lastKey: last === undefined ? after : keyOfRow(plan.read, last),
        chunk: sink.take(),
        counts,
      };
    };
    // Each read starts where the one before ended: a chain, kept `readAhead` pieces long.
    let tail: Promise<PreparedPiece> = prepare(lastKey);
    // Rejections reach the loop through its own await; reads left behind by a stop must not
    // reject unobserved.
    tail.catch(() => undefined);
    const ahead: Promise<PreparedPiece>[] = [tail];
    const extend = () => {
      while (ahead.length < readAhead) {
        tail = tail.then((piece) =>
          piece.rows < pieceRows ? endOf(piece.lastKey) : prepare(piece.lastKey),
        );
        tail.catch(() => undefined);
        ahead.push(tail);
      }
    };
    let inChunk = 0;
    let pending = counters;
    try {
      for (;;) {
        extend();
        const current: PreparedPiece = await ahead.shift()!;
        if (inChunk === 0 && signal.aborted) return { counters, interrupted: true };
        const exhausted = current.rows < pieceRows;
        const stats = isEmpty(current.chunk) ? undefined : await writer.apply(current.chunk);
        // The writer's dead letters include rows the target refused: those were not copied.
        const refused = (stats?.deadLetters ?? 0) - current.counts.deadLetters;
        pending = {
          ...pending,
          rowsRead: pending.rowsRead + current.rows,
          rowsCopied: pending.rowsCopied + current.counts.copied - refused,
          deadLetters: pending.deadLetters + (stats?.deadLetters ?? 0),
        };
        inChunk += current.rows;
        if (inChunk < options.chunkSize && !exhausted) continue;
        if (inChunk === 0) break;
        counters = pending;
        if (rowsTotal !== null && counters.rowsRead > rowsTotal) rowsTotal = counters.rowsRead;
        lastKey = current.lastKey;
        // The chunk's rows and its progress commit together: a resumed run starts after them.
        await writer.commit({
          statements: [
            progressStatement({
              mapping: mapping.name,
              runId,
              phase: 'copy',
              lastKey,
              pruneKey: null,
              counters,
              rowsTotal,
            }),
          ],
        });
        inChunk = 0;
        report('copy');
        if (exhausted) break;
      }
    } catch (error) {
      await writer.rollback();
      throw error;
    }
    if (rowsTotal === null || rowsTotal !== counters.rowsRead) rowsTotal = counters.rowsRead;
    if (state.prune) {
      await writer.commit({
        statements: [
          progressStatement({
            mapping: mapping.name,
            runId,
            phase: 'prune',
            lastKey,
            pruneKey: null,
            counters,
            rowsTotal,
          }),
        ],
      });
    }
  }

  if (state.prune) {
    // Target keys per range: their lookups are held in memory whatever --chunk-size says.
    const pruneRows = Math.min(options.chunkSize, maxPruneRows);
    let after: readonly TargetValue[] | null = state.phase === 'prune' ? state.pruneKey : null;
    for (;;) {
      if (signal.aborted) return { counters, interrupted: true };
      const candidates = await readTargetKeys(options.target, plan.prune, after, pruneRows);
      if (candidates.length === 0) break;
      const stale = await findStaleRows(options.source, plan.prune, candidates);
      const batch = new TargetBatch();
      const removed = addRemovals(plan.prune, stale, batch, { lsn: 0n, syncedAt: new Date() });
      try {
        if (removed > 0) await writer.apply(batch.take());
        after = candidates.at(-1)!.key;
        counters = { ...counters, rowsRemoved: counters.rowsRemoved + removed };
        await writer.commit({
          statements: [
            progressStatement({
              mapping: mapping.name,
              runId,
              phase: 'prune',
              lastKey,
              pruneKey: after,
              counters,
            }),
          ],
        });
      } catch (error) {
        await writer.rollback();
        throw error;
      }
      report('prune');
      if (candidates.length < pruneRows) break;
    }
  }

  await writer.commit({ statements: [finishStatement(mapping.name, runId)] });
  report(state.prune ? 'prune' : 'copy');
  return { counters, interrupted: false };
}
