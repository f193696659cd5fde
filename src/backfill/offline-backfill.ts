import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { TargetBatch } from '../pipeline/target-batch.js';
import type { WriteChunk } from '../target/write-chunk.js';
import type { TargetWriter } from '../target/writer.js';
import type { TargetValue } from '../values/column-types.js';
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
    // one transaction: the next piece is read and mapped while the current one is written, and
    // only two pieces are alive at a time, so the garbage collector sees short-lived objects.
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
    let next: Promise<PreparedPiece> | undefined = prepare(lastKey);
    let inChunk = 0;
    let pending = counters;
    try {
      while (next !== undefined) {
        const current: PreparedPiece = await next;
        next = undefined;
        if (inChunk === 0 && signal.aborted) return { counters, interrupted: true };
        const exhausted = current.rows < pieceRows;
        if (!exhausted) next = prepare(current.lastKey);
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
      }
    } catch (error) {
      await writer.rollback();
      throw error;
    } finally {
      // A read started for a piece that will not be written must not reject unobserved.
      next?.catch(() => undefined);
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
    let after: readonly TargetValue[] | null = state.phase === 'prune' ? state.pruneKey : null;
    for (;;) {
      if (signal.aborted) return { counters, interrupted: true };
      const candidates = await readTargetKeys(options.target, plan.prune, after, options.chunkSize);
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
      if (candidates.length < options.chunkSize) break;
    }
  }

  await writer.commit({ statements: [finishStatement(mapping.name, runId)] });
  report(state.prune ? 'prune' : 'copy');
  return { counters, interrupted: false };
}
