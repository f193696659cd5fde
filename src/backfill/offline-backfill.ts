import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { localInfileEnabled, planLoad } from '../mysql/load-data/load-rows.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { TargetWriter } from '../mysql/writer.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { TargetValue } from '../values/column-types.js';
import { TargetBatch } from '../writes/target-batch.js';
import type { WriteChunk } from '../writes/write-chunk.js';
import { ChunkSink, mapSourceRows, type RowCounts } from './add-source-rows.js';
import {
  type BackfillCounters,
  type BackfillPhase,
  type BackfillState,
  countersOf,
  finishStatement,
  type ProgressUpdate,
  progressStatement,
} from './backfill-store.js';
import { type ChunkEnd, loadChunks } from './load-chunks.js';
import { keyOfRow, readChunk, type SourceReadPlan } from './source-reader.js';
import { addRemovals, findStaleRows, type PrunePlan, readTargetKeys } from './stale-rows.js';

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

interface OfflineBackfillOptions {
  /** Reads the source chunks and looks stale keys up. */
  readonly source: PgClient;
  /** Reads target keys for the prune phase (the writer's connection, between its commits). */
  readonly target: MysqlConnection;
  readonly writer: TargetWriter;
  readonly plan: MappingPlan;
  /** The run to perform: fresh, or resumed from its last committed chunk. */
  readonly state: BackfillState;
  readonly chunkSize: number;
  /** Stops after the chunk being written commits. */
  readonly signal: AbortSignal;
  readonly onProgress: (progress: BackfillProgress) => void;
  readonly logger: Logger;
}

interface OfflineResult {
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

/** Where the run stands as of its last commit: what the progress row and the bars show. */
interface Committed {
  counters: BackfillCounters;
  rowsTotal: number | null;
  lastKey: readonly string[] | null;
}

type Report = (phase: BackfillPhase) => void;

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
  const { plan, state, writer } = options;
  const { mapping } = plan;
  const committed: Committed = {
    counters: countersOf(state),
    rowsTotal: state.rowsTotal,
    lastKey: state.lastKey,
  };
  const report: Report = (phase) =>
    options.onProgress({
      mapping: mapping.name,
      phase,
      counters: committed.counters,
      rowsTotal: committed.rowsTotal,
    });

  if (state.phase === 'copy') {
    if (!(await copyRows(options, committed, report))) {
      return { counters: committed.counters, interrupted: true };
    }
    committed.rowsTotal = committed.counters.rowsRead;
    if (state.prune) {
      await commitProgress(options, committed, {
        phase: 'prune',
        pruneKey: null,
        rowsTotal: committed.rowsTotal,
      });
    }
  }
  if (state.prune && !(await pruneRows(options, committed, report))) {
    return { counters: committed.counters, interrupted: true };
  }
  await writer.commit({ statements: [finishStatement(mapping.name, state.runId!)] });
  report(state.prune ? 'prune' : 'copy');
  return { counters: committed.counters, interrupted: false };
}

/** Commits the progress row (with the rows written since the last commit). */
async function commitProgress(
  options: OfflineBackfillOptions,
  committed: Committed,
  at: Pick<ProgressUpdate, 'phase' | 'pruneKey' | 'rowsTotal'>,
): Promise<void> {
  await options.writer.commit({
    statements: [
      progressStatement({
        mapping: options.plan.mapping.name,
        runId: options.state.runId!,
        lastKey: committed.lastKey,
        counters: committed.counters,
        ...at,
      }),
    ],
  });
}

/** Rolls the open transaction back when `body` fails, so nothing half-written commits later. */
async function rollingBack<T>(writer: TargetWriter, body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (error) {
    await writer.rollback();
    throw error;
  }
}

/** Reads and maps one piece of source rows after `after`. */
async function preparePiece(
  options: OfflineBackfillOptions,
  after: readonly string[] | null,
  pieceRows: number,
): Promise<PreparedPiece> {
  const { plan } = options;
  const rows = await readChunk(options.source, plan.read, after, pieceRows);
  const sink = new ChunkSink(plan.mapping);
  const counts = mapSourceRows(plan.mapping, rows, sink, {
    meta: { lsn: 0n, syncedAt: new Date() },
  });
  const last = rows.at(-1);
  return {
    rows: rows.length,
    lastKey: last === undefined ? after : keyOfRow(plan.read, last),
    chunk: sink.take(),
    counts,
  };
}

/**
 * The pieces from `from` on, each read starting where the one before ended: a chain kept
 * `readAhead` pieces long, so the process maps while MySQL inserts.
 */
function readPiecesAhead(
  options: OfflineBackfillOptions,
  from: readonly string[] | null,
  pieceRows: number,
): () => Promise<PreparedPiece> {
  let tail: Promise<PreparedPiece> = preparePiece(options, from, pieceRows);
  // Rejections reach the loop through its own await; reads left behind by a stop must not
  // reject unobserved.
  tail.catch(() => undefined);
  const ahead: Promise<PreparedPiece>[] = [tail];
  return () => {
    while (ahead.length < readAhead) {
      tail = tail.then((piece) =>
        piece.rows < pieceRows
          ? endOf(piece.lastKey)
          : preparePiece(options, piece.lastKey, pieceRows),
      );
      tail.catch(() => undefined);
      ahead.push(tail);
    }
    return ahead.shift()!;
  };
}

/** Writes one piece in the open transaction; returns the counters it makes once committed. */
async function writePiece(
  writer: TargetWriter,
  piece: PreparedPiece,
  counters: BackfillCounters,
): Promise<BackfillCounters> {
  const stats = isEmpty(piece.chunk) ? undefined : await writer.apply(piece.chunk);
  // The writer's dead letters include rows the target refused: those were not copied.
  const refused = (stats?.deadLetters ?? 0) - piece.counts.deadLetters;
  return {
    ...counters,
    rowsRead: counters.rowsRead + piece.rows,
    rowsCopied: counters.rowsCopied + piece.counts.copied - refused,
    deadLetters: counters.deadLetters + (stats?.deadLetters ?? 0),
  };
}

/**
 * The copy phase. Through COPY and LOAD DATA where the MES allows LOAD DATA LOCAL; otherwise
 * (or for a chunk LOAD DATA cannot write exactly) through the writer's statements. False when
 * stopped.
 */
async function copyRows(
  options: OfflineBackfillOptions,
  committed: Committed,
  report: Report,
): Promise<boolean> {
  const { mapping } = options.plan;
  if (!(await localInfileEnabled(options.target))) {
    options.logger.warn(
      { mapping: mapping.name },
      'the MES refuses LOAD DATA LOCAL (local_infile is OFF): backfilling through INSERT statements, several times slower; enable it with SET GLOBAL local_infile=1',
    );
    return copyRowsByStatements(options, committed, report);
  }
  const load = await planLoad(
    options.target,
    mapping.target,
    mapping.targetColumns,
    mapping.keyColumns,
  );
  return rollingBack(options.writer, () =>
    loadChunks(
      {
        source: options.source,
        target: options.target,
        writer: options.writer,
        mapping,
        read: options.plan.read,
        load,
        chunkSize: options.chunkSize,
        signal: options.signal,
        logger: options.logger,
        writeByStatements: (after, counters) => writeChunkByStatements(options, after, counters),
        commit: async (end: ChunkEnd) => {
          committed.counters = end.counters;
          if (committed.rowsTotal !== null && end.counters.rowsRead > committed.rowsTotal) {
            committed.rowsTotal = end.counters.rowsRead;
          }
          committed.lastKey = end.lastKey;
          // The chunk's rows and its progress commit together: a resumed run starts after them.
          await commitProgress(options, committed, {
            phase: 'copy',
            pruneKey: null,
            rowsTotal: committed.rowsTotal,
          });
          report('copy');
        },
      },
      committed,
    ),
  );
}

/** One chunk after `after` through the writer's statements, in the open transaction. */
async function writeChunkByStatements(
  options: OfflineBackfillOptions,
  after: readonly string[] | null,
  counters: BackfillCounters,
): Promise<ChunkEnd> {
  const pieceRows = Math.min(options.chunkSize, offlinePieceRows);
  let inChunk = 0;
  let lastKey = after;
  let pending = counters;
  for (;;) {
    const piece = await preparePiece(options, lastKey, pieceRows);
    pending = await writePiece(options.writer, piece, pending);
    inChunk += piece.rows;
    lastKey = piece.lastKey;
    const exhausted = piece.rows < pieceRows;
    if (exhausted || inChunk >= options.chunkSize) return { counters: pending, lastKey, exhausted };
  }
}

/**
 * The copy phase through the writer: rows are read, mapped and written in pieces of one statement's size, a chunk's
 * pieces in one transaction; pieces are small, so their objects die young. False when stopped.
 */
async function copyRowsByStatements(
  options: OfflineBackfillOptions,
  committed: Committed,
  report: Report,
): Promise<boolean> {
  const { writer, signal } = options;
  const pieceRows = Math.min(options.chunkSize, offlinePieceRows);
  const next = readPiecesAhead(options, committed.lastKey, pieceRows);
  let inChunk = 0;
  let pending = committed.counters;
  return rollingBack(writer, async () => {
    for (;;) {
      const current: PreparedPiece = await next();
      if (inChunk === 0 && signal.aborted) return false;
      const exhausted = current.rows < pieceRows;
      pending = await writePiece(writer, current, pending);
      inChunk += current.rows;
      if (inChunk < options.chunkSize && !exhausted) continue;
      if (inChunk === 0) return true;
      committed.counters = pending;
      if (committed.rowsTotal !== null && pending.rowsRead > committed.rowsTotal) {
        committed.rowsTotal = pending.rowsRead;
      }
      committed.lastKey = current.lastKey;
      // The chunk's rows and its progress commit together: a resumed run starts after them.
      await commitProgress(options, committed, {
        phase: 'copy',
        pruneKey: null,
        rowsTotal: committed.rowsTotal,
      });
      inChunk = 0;
      report('copy');
      if (exhausted) return true;
    }
  });
}

/** The prune phase, one range of target keys per transaction. False when stopped. */
async function pruneRows(
  options: OfflineBackfillOptions,
  committed: Committed,
  report: Report,
): Promise<boolean> {
  const { plan, state, writer } = options;
  // Target keys per range: their lookups are held in memory whatever --chunk-size says.
  const pruneRows = Math.min(options.chunkSize, maxPruneRows);
  let after: readonly TargetValue[] | null = state.phase === 'prune' ? state.pruneKey : null;
  for (;;) {
    if (options.signal.aborted) return false;
    const candidates = await readTargetKeys(options.target, plan.prune, after, pruneRows);
    if (candidates.length === 0) return true;
    const stale = await findStaleRows(options.source, plan.prune, candidates);
    const batch = new TargetBatch();
    const removed = addRemovals(plan.prune, stale, batch, { lsn: 0n, syncedAt: new Date() });
    await rollingBack(writer, async () => {
      if (removed > 0) await writer.apply(batch.take());
      after = candidates.at(-1)!.key;
      const { counters } = committed;
      committed.counters = { ...counters, rowsRemoved: counters.rowsRemoved + removed };
      await commitProgress(options, committed, { phase: 'prune', pruneKey: after });
    });
    report('prune');
    if (candidates.length < pruneRows) return true;
  }
}
