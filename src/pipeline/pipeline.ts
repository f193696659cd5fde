import type { Logger } from '../log/logger.js';
import { type ChangeMeta, UNCHANGED } from '../mapping/compiled-mapping.js';
import type { Lsn } from '../util/lsn.js';
import { rowBytes } from '../writes/row-bytes.js';
import { TargetBatch } from '../writes/target-batch.js';
import type { WriteChunk } from '../writes/write-chunk.js';
import type { ChangeMapper } from './change-mapper.js';
import type { ChangeSource } from './change-source.js';
import type { Checkpoint, Sink } from './sink.js';
import type { ChangeEvent, RelationEvent, SourceEvent } from './source-event.js';
import type { StreamInterceptor } from './stream-interceptor.js';

/** What the pipeline reports as it commits, for metrics and progress lines. */
export interface PipelineObserver {
  /** A target transaction committed: `changes` source row changes, `transactions` source transactions. */
  committed(info: {
    readonly lsn: Lsn;
    readonly changes: number;
    readonly transactions: number;
    readonly writes: number;
    readonly deadLetters: number;
    readonly applyMs: number;
    /** Commit time of the last source transaction in the batch, ms since the epoch. */
    readonly sourceCommitMs: number;
    readonly changesByTable: ReadonlyMap<string, ReadonlyMap<string, number>>;
  }): void;
}

export interface PipelineOptions {
  readonly mapper: ChangeMapper;
  readonly sink: Sink;
  /** Acknowledged after each commit; paused while the queue is full. */
  readonly source: Pick<ChangeSource, 'acknowledge' | 'pause'>;
  readonly slot: string;
  /** The checkpoint read from the target: transactions committed at or below it were applied. */
  readonly checkpoint: Lsn;
  /** Rejects when a Relation message shows a mapped column dropped or retyped. */
  readonly checkRelation: (event: RelationEvent) => Promise<void>;
  readonly logger: Logger;
  readonly observer?: PipelineObserver;
  readonly interceptor?: StreamInterceptor;
  /** Flush when this many coalesced writes are held. */
  readonly maxBatchWrites?: number;
  /** Flush complete transactions at most this long after the batch's first change, in milliseconds. */
  readonly maxBatchDelayMs?: number;
  /** Flush when the batch's rows hold about this many bytes. */
  readonly maxBatchBytes?: number;
  /** Pause the source when this many events are queued, resume at `lowWater`. */
  readonly highWater?: number;
  readonly lowWater?: number;
  /** Pause the source when the queued events hold about this many bytes, resume at a quarter. */
  readonly highWaterBytes?: number;
}

type Step = 'relation' | 'chunk' | 'commit' | 'truncate' | 'isolate' | undefined;

/**
 * The middle of the data path: assembles transactions, skips those already applied, maps and
 * coalesces their changes into batches of whole transactions, and writes each batch in one
 * target transaction with its checkpoint before acknowledging it. Mapping of the next batch
 * overlaps the write of the previous one; at most one write is in flight, and the source is
 * paused when the queue is full, so memory stays bounded whatever the source does.
 */
export class Pipeline {
  private readonly options: PipelineOptions;
  private readonly maxBatchWrites: number;
  private readonly maxBatchDelayMs: number;
  private readonly highWater: number;
  private readonly lowWater: number;
  private readonly maxBatchBytes: number;
  private readonly highWaterBytes: number;
  /** Events in arrival order; taken ones are cleared so their rows can be collected at once. */
  private queue: (SourceEvent | undefined)[] = [];
  /** Approximate bytes of each queued event, same index as `queue`. */
  private sizes: number[] = [];
  private queuedBytes = 0;
  private head = 0;
  /** The event last taken, for a step that needs it after `handle`. */
  private current: SourceEvent | undefined;
  private wake: (() => void) | undefined;
  private failure: unknown;
  private paused = false;

  private batch = new TargetBatch();
  private inflight: Promise<void> = Promise.resolve();
  private inTransaction = false;
  private skipping = false;
  /**
   * The open transaction was written under a `millrace…` replication origin: the return path's
   * own writes into the source. Its changes are not applied (they came from the target), but its
   * position is committed like an empty transaction's.
   */
  private ownWrite = false;
  private meta: ChangeMeta = { lsn: 0n, syncedAt: new Date(0) };
  /** Commit end LSN of the last complete transaction held in the batch. */
  private lastComplete: Lsn;
  private lastCompleteGtid: string | undefined;
  private lastCommitted: Lsn;
  /** Commit end LSN last handed to a committing write (it may still be in flight). */
  private lastFlushed: Lsn;
  private lastCommitTimeMs = 0;
  private batchStartedAt = 0;
  /** A write is in flight on the target. */
  private writing = false;
  private batchChanges = 0;
  private batchTransactions = 0;
  private changesByTable = new Map<string, Map<string, number>>();

  constructor(options: PipelineOptions) {
    this.options = options;
    this.maxBatchWrites = options.maxBatchWrites ?? 5_000;
    this.maxBatchDelayMs = options.maxBatchDelayMs ?? 200;
    this.highWater = options.highWater ?? 4_000;
    this.lowWater = options.lowWater ?? Math.floor(this.highWater / 4);
    // Defaults sized for the bin's 160 MB heap: a queue, a batch and a statement in flight of
    // wide rows, each copied a few times on its way (parsed, mapped, formatted).
    this.maxBatchBytes = options.maxBatchBytes ?? 8 * 1024 * 1024;
    this.highWaterBytes = options.highWaterBytes ?? 16 * 1024 * 1024;
    this.lastComplete = options.checkpoint;
    this.lastCommitted = options.checkpoint;
    this.lastFlushed = options.checkpoint;
  }

  /** Called by the source for every event, in stream order. */
  push(event: SourceEvent): void {
    const bytes = eventBytes(event);
    this.queue.push(event);
    this.sizes.push(bytes);
    this.queuedBytes += bytes;
    if (
      !this.paused &&
      (this.queue.length - this.head >= this.highWater || this.queuedBytes >= this.highWaterBytes)
    ) {
      this.paused = true;
      this.options.source.pause(true);
    }
    this.wake?.();
  }

  /** Called by the source when the stream broke: the run loop rejects with it. */
  fail(error: unknown): void {
    this.failure ??= error;
    this.wake?.();
  }

  /** The last commit end LSN durable on the target. */
  committedLsn(): Lsn {
    return this.lastCommitted;
  }

  /** Queued events not yet mapped. */
  queued(): number {
    return this.queue.length - this.head;
  }

  /**
   * Runs until `signal` aborts (then finishes the complete transactions already received,
   * commits and returns) or until something fails (then rejects; nothing uncommitted is
   * acknowledged, and the caller restarts from the checkpoint).
   */
  async run(signal: AbortSignal): Promise<void> {
    for (;;) {
      this.throwIfFailed();
      if (signal.aborted) return this.finish();
      if (this.queued() === 0) {
        if (this.dueForCommit()) {
          await this.flush(true);
          continue;
        }
        await this.waitForEvents(signal);
        continue;
      }
      // Map a run of events synchronously; only a flush yields to the event loop.
      for (let n = 0; n < 5_000 && this.head < this.queue.length; n++) {
        const event = this.take();
        const step = this.handle(event);
        if (step) await this.perform(step);
        this.throwIfFailed();
      }
      this.compactQueue();
    }
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** The next queued event; its bytes leave the queue's account. */
  private take(): SourceEvent {
    const event = this.queue[this.head]!;
    this.current = event;
    this.queue[this.head] = undefined;
    this.queuedBytes -= this.sizes[this.head++]!;
    return event;
  }

  private compactQueue(): void {
    if (this.head > 4_096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.sizes = this.sizes.slice(this.head);
      this.head = 0;
    }
    if (
      this.paused &&
      this.queued() <= this.lowWater &&
      this.queuedBytes <= this.highWaterBytes / 4
    ) {
      this.paused = false;
      this.options.source.pause(false);
    }
  }

  /**
   * Group commit: with nothing queued, complete transactions are committed at once if the writer
   * is idle (low latency when the stream is light), otherwise once the batch is old enough (large
   * batches when the target is the bottleneck).
   */
  private dueForCommit(): boolean {
    return (
      !this.inTransaction &&
      this.lastComplete > this.lastFlushed &&
      (!this.writing || Date.now() - this.batchStartedAt >= this.maxBatchDelayMs)
    );
  }

  private waitForEvents(signal: AbortSignal): Promise<void> {
    const pending = !this.inTransaction && this.lastComplete > this.lastFlushed;
    const timeout = pending
      ? Math.max(1, this.batchStartedAt + this.maxBatchDelayMs - Date.now())
      : 1_000;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, timeout);
      signal.addEventListener('abort', done, { once: true });
      this.wake = done;
    });
  }

  private handle(event: SourceEvent): Step {
    switch (event.kind) {
      case 'relation':
        return 'relation';
      case 'begin':
        this.inTransaction = true;
        // A transaction whose commit record starts below the checkpoint ended at or below it.
        this.skipping = event.finalLsn < this.options.checkpoint;
        this.ownWrite = false;
        this.meta = { lsn: event.finalLsn, syncedAt: new Date() };
        if (this.lastComplete === this.lastFlushed) this.markBatchStart();
        return undefined;
      case 'origin':
        this.ownWrite = event.name.startsWith('millrace');
        return undefined;
      case 'insert':
      case 'update':
      case 'delete':
        if (this.skipping || !this.options.mapper.isMapped(event.table)) return undefined;
        if (this.ownWrite) {
          // Not applied, but an online backfill window must not copy the row back either.
          this.options.interceptor?.onChange(event);
          return undefined;
        }
        if (needsIsolation(event)) return 'isolate';
        this.mapChange(event);
        return this.batchFull() ? 'chunk' : undefined;
      case 'message':
        if (this.skipping || !this.options.interceptor) return undefined;
        this.options.interceptor.onMessage(event, { batch: this.batch, meta: this.meta });
        return this.batchFull() && this.inTransaction ? 'chunk' : undefined;
      case 'truncate':
        if (this.skipping) return undefined;
        if (this.ownWrite) {
          this.options.interceptor?.onTruncate(event);
          return undefined;
        }
        return 'truncate';
      case 'keepalive':
        // Never inside a transaction: its own commit decides where the checkpoint goes.
        if (this.inTransaction || event.lsn <= this.lastComplete) return undefined;
        if (this.lastComplete === this.lastFlushed) this.markBatchStart();
        this.lastComplete = event.lsn;
        return undefined;
      case 'commit':
        this.inTransaction = false;
        if (this.skipping) {
          this.skipping = false;
          return undefined;
        }
        this.lastComplete = event.endLsn;
        this.lastCompleteGtid = event.gtid;
        this.lastCommitTimeMs = event.commitTimeMs;
        this.batchTransactions++;
        return this.batchFull() || Date.now() - this.batchStartedAt >= this.maxBatchDelayMs
          ? 'commit'
          : undefined;
    }
  }

  private mapChange(event: ChangeEvent): void {
    this.count(event.table, event.kind);
    this.options.mapper.mapChange(event, this.meta, this.batch);
    this.options.interceptor?.onChange(event);
  }

  private batchFull(): boolean {
    return this.batch.size >= this.maxBatchWrites || this.batch.bytes >= this.maxBatchBytes;
  }

  private async perform(step: Exclude<Step, undefined>): Promise<void> {
    if (step === 'commit') return this.flush(true);
    if (step === 'chunk') return this.flush(false);
    const event = this.current;
    if (step === 'isolate' && event?.kind === 'update') {
      // A key change whose new row lacks unchanged TOAST values copies them from the target row
      // at the old key: that row must hold exactly what came before, and nothing after.
      return this.writeAlone(() => this.mapChange(event));
    }
    // Rare (a table's first change in a session, or DDL): may read the catalog.
    if (event?.kind === 'relation') return this.options.checkRelation(event);
    if (event?.kind !== 'truncate') return;
    return this.writeAlone(() => {
      this.options.interceptor?.onTruncate(event);
      this.options.mapper.mapTruncate(event, this.meta, this.batch);
    });
  }

  /** What came before, then the writes `add` makes alone in their chunk: stream order holds. */
  private async writeAlone(add: () => void): Promise<void> {
    await this.flush(false);
    add();
    await this.flush(false);
  }

  private markBatchStart(): void {
    this.batchStartedAt = Date.now();
  }

  private count(table: string, operation: string): void {
    this.batchChanges++;
    let byOp = this.changesByTable.get(table);
    if (!byOp) {
      byOp = new Map();
      this.changesByTable.set(table, byOp);
    }
    byOp.set(operation, (byOp.get(operation) ?? 0) + 1);
  }

  /**
   * Hands the batch to the writer; with `commit`, the target transaction commits with the
   * checkpoint of the last complete source transaction, then the source is acknowledged.
   * Waits for the previous write first: one write in flight at a time.
   */
  private async flush(commit: boolean): Promise<void> {
    const chunk = this.batch.take();
    const checkpoint: Checkpoint | undefined = commit
      ? { slot: this.options.slot, lsn: this.lastComplete, gtid: this.lastCompleteGtid }
      : undefined;
    const stats = {
      changes: this.batchChanges,
      transactions: this.batchTransactions,
      // A checkpoint moved by keepalives alone says nothing of how old the applied data is.
      sourceCommitMs: this.batchTransactions > 0 ? this.lastCommitTimeMs : 0,
      changesByTable: this.changesByTable,
    };
    if (commit) {
      this.lastFlushed = this.lastComplete;
      this.batchChanges = 0;
      this.batchTransactions = 0;
      this.changesByTable = new Map();
      this.markBatchStart();
    }
    await this.inflight;
    this.throwIfFailed();
    this.inflight = this.write(chunk, checkpoint, stats);
  }

  private async write(
    chunk: WriteChunk,
    checkpoint: Checkpoint | undefined,
    stats: {
      changes: number;
      transactions: number;
      sourceCommitMs: number;
      changesByTable: Map<string, Map<string, number>>;
    },
  ): Promise<void> {
    const started = performance.now();
    this.writing = true;
    try {
      const writes = chunk.tables.reduce(
        (sum, t) => sum + t.deletes.length + t.upserts.length + t.updates.length,
        0,
      );
      const applied =
        writes + chunk.resets.length + chunk.deadLetters.length > 0
          ? await this.options.sink.apply(chunk)
          : undefined;
      if (checkpoint === undefined) return;
      const lsn = checkpoint.lsn;
      await this.options.sink.commit({ checkpoint });
      this.lastCommitted = lsn;
      this.options.source.acknowledge(lsn);
      this.options.observer?.committed({
        lsn,
        changes: stats.changes,
        transactions: stats.transactions,
        writes,
        deadLetters: applied?.deadLetters ?? 0,
        applyMs: performance.now() - started,
        sourceCommitMs: stats.sourceCommitMs,
        changesByTable: stats.changesByTable,
      });
    } catch (error) {
      this.fail(error);
    } finally {
      this.writing = false;
      // A batch may be waiting for the writer to be free.
      this.wake?.();
    }
  }

  /**
   * Graceful stop: finish the source transaction in progress (pgoutput sends a transaction only
   * once it committed, so its remaining events are already on their way), commit everything
   * complete and acknowledge it. Whatever follows is left for the next start. A transaction
   * that does not complete within the deadline is rolled back with the rest of the open batch:
   * it comes again from the checkpoint.
   */
  private async finish(): Promise<void> {
    const deadline = Date.now() + 5_000;
    const neverAbort = new AbortController().signal;
    for (;;) {
      this.throwIfFailed();
      const next = this.queue[this.head];
      if (next === undefined) {
        if (!this.inTransaction || Date.now() >= deadline) break;
        await this.waitForEvents(neverAbort);
        continue;
      }
      if (!this.inTransaction && next.kind === 'begin') break;
      this.take();
      const step = this.handle(next);
      if (step !== undefined && step !== 'commit') await this.perform(step);
    }
    this.queue = [];
    this.sizes = [];
    this.queuedBytes = 0;
    this.head = 0;
    if (this.inTransaction) {
      this.options.logger.warn(
        'stopping inside a source transaction: its partial batch is rolled back',
      );
      this.batch.take();
      await this.inflight;
      await this.options.sink.rollback();
      return;
    }
    if (this.lastComplete > this.lastFlushed || this.batch.size > 0) await this.flush(true);
    await this.inflight;
    this.throwIfFailed();
  }
}

/** What a queued event holds in memory, roughly: its rows' values. */
function eventBytes(event: SourceEvent): number {
  if (event.kind === 'insert' || event.kind === 'update' || event.kind === 'delete') {
    return 64 + rowBytes(event.row) + rowBytes(event.old);
  }
  return 64;
}

/**
 * An update that changed the key while some value stayed out-of-line and unsent: rare, and
 * written alone in its chunk (see `perform`).
 */
function needsIsolation(event: ChangeEvent): boolean {
  if (event.kind !== 'update' || event.old === null || event.row === null) return false;
  for (const column in event.row) if (event.row[column] === UNCHANGED) return true;
  return false;
}
