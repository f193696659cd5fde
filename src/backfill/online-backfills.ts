import { classifyError, isOutage } from '../errors/classify-error.js';
import { describeError } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { Lsn } from '../util/lsn.js';
import { sleep } from '../util/sleep.js';
import type { TargetValue } from '../values/column-types.js';
import { rowKeyIdentity } from '../values/key-text.js';
import { batchSink, mapSourceRows } from './add-source-rows.js';
import {
  type BackfillCounters,
  type BackfillState,
  claimStatement,
  countersOf,
  execute,
  failStatement,
  finishStatement,
  type ProgressUpdate,
  progressStatement,
  readOnlineWork,
} from './backfill-store.js';
import type { MappingPlan } from './offline-backfill.js';
import { planMapping } from './plan-mapping.js';
import { type RepairRequest, readRepairWork, settleRepairStatement } from './repair-requests.js';
import { currentWalLsn, estimateRows, keyOfRow, readChunk } from './source-reader.js';
import {
  addRemovals,
  findStaleRows,
  lookupCandidates,
  readTargetKeys,
  type TargetKeyRow,
} from './stale-rows.js';
import {
  type WatchedTable,
  WatermarkInterceptor,
  type WindowHandle,
  type WindowResult,
  watermarkPrefix,
} from './watermark-interceptor.js';

interface OnlineBackfillsOptions {
  /** Reads chunks and emits watermarks (a normal session on the CRM, not the walsender). */
  readonly catalog: PgClient;
  /** Reads requests and target keys, writes progress: never the writer's connection. */
  readonly control: MysqlConnection & MysqlConnection;
  /** The replicator's mappings: only their backfills are performed here. */
  readonly mappings: readonly CompiledMapping[];
  /** The commit end LSN durable on the target (Pipeline.committedLsn). */
  readonly committedLsn: () => Lsn;
  readonly logger: Logger;
  /** How often requests are looked for, in milliseconds. */
  readonly pollIntervalMs?: number;
  /** Chunks read ahead of the one the stream applies (memory: this many chunks of rows). */
  readonly windowsAhead?: number;
  /** Rows per chunk when the request does not say. */
  readonly defaultChunkSize?: number;
  /**
   * One of the connections above was lost: the session restarts with new ones (the replicator
   * passes its pipeline's `fail`). Without it, the driver just keeps retrying.
   */
  readonly onConnectionLost?: (error: unknown) => void;
}

/** Most source rows one in-stream chunk holds. */
const maxWindowRows = 10_000;

interface Pending {
  readonly window: WindowHandle;
  readonly rows: number;
  readonly lastKey: readonly string[] | null;
}

/**
 * The replicator's side of `millrace backfill` while `run` runs: one per replicator session.
 * It polls millrace_backfills for requests of its mappings and performs them chunk by chunk
 * through watermarks (see WatermarkInterceptor), so the chunks commit in stream order with the
 * checkpoint; progress is recorded once a chunk's watermark transaction is durable on the target.
 * A session that ends mid-chunk loses nothing: the next one resumes from the recorded progress,
 * and a chunk applied twice is harmless since each application is exact at its stream position.
 */
export class OnlineBackfills {
  readonly interceptor: WatermarkInterceptor;
  private readonly options: OnlineBackfillsOptions;
  private readonly logger: Logger;
  private readonly controller = new AbortController();
  private loop: Promise<void> | undefined;
  private lastProblem = '';

  constructor(options: OnlineBackfillsOptions) {
    this.options = options;
    this.logger = options.logger;
    this.interceptor = new WatermarkInterceptor({ logger: options.logger });
  }

  /** Starts looking for requests; call once the stream is running. */
  start(): void {
    this.loop ??= this.poll();
  }

  /** Stops after releasing every open window; safe to call twice. */
  async stop(): Promise<void> {
    this.controller.abort();
    this.interceptor.cancelAll('the replicator session is stopping');
    await this.loop;
  }

  private get signal(): AbortSignal {
    return this.controller.signal;
  }

  private async poll(): Promise<void> {
    const names = this.options.mappings.map((mapping) => mapping.name);
    const interval = this.options.pollIntervalMs ?? 1_000;
    while (!this.signal.aborted) {
      try {
        const work = await readOnlineWork(this.options.control, names);
        for (const state of work) {
          if (this.signal.aborted) break;
          await this.perform(state);
        }
        for (const request of await readRepairWork(this.options.control, names)) {
          if (this.signal.aborted) break;
          await this.repair(request);
        }
        this.lastProblem = '';
      } catch (error) {
        if (this.signal.aborted) return;
        // A connection gone for good: only a new session helps.
        if (classifyError(error) === 'lost-connection' && this.options.onConnectionLost) {
          this.options.onConnectionLost(error);
          return;
        }
        // Logged once per distinct problem; the request stays recorded and is retried.
        const problem = describeError(error);
        if (problem !== this.lastProblem) {
          this.logger.warn({ err: error }, 'online backfill paused');
          this.lastProblem = problem;
        }
      }
      await sleep(interval, this.signal);
    }
  }

  private async perform(requested: BackfillState): Promise<void> {
    const { catalog, control } = this.options;
    const mapping = this.options.mappings.find((candidate) => candidate.name === requested.mapping);
    if (!mapping || requested.runId === null) return;
    const runId = requested.runId;
    if (requested.status === 'requested') {
      const rowsTotal = requested.rowsTotal ?? (await estimateRows(catalog, mapping));
      const snapshotLsn = requested.snapshotLsn ?? (await currentWalLsn(catalog));
      if ((await execute(control, claimStatement(requested, rowsTotal, snapshotLsn))) === 0) return;
      this.logger.info({ mapping: mapping.name }, 'online backfill started');
    } else {
      this.logger.info(
        { mapping: mapping.name, phase: requested.phase },
        'online backfill resumed',
      );
    }
    // A window's rows stay in memory until its high watermark comes back through the stream:
    // bounded whatever --chunk-size asked for (the process runs under a small heap cap).
    const chunkSize = Math.min(
      requested.chunkSize ?? this.options.defaultChunkSize ?? maxWindowRows,
      maxWindowRows,
    );
    try {
      const plan = await planMapping(catalog, mapping, this.options.mappings);
      let counters = countersOf(requested);
      let lastKey = requested.lastKey;
      if (requested.phase === 'copy') {
        const copied = await this.copy(plan, requested, chunkSize);
        if (copied === undefined) return;
        ({ counters, lastKey } = copied);
        const moved =
          !requested.prune ||
          (await this.record(plan, runId, {
            phase: 'prune',
            lastKey,
            pruneKey: null,
            counters,
            rowsTotal: counters.rowsRead,
          }));
        if (!moved) return;
      }
      if (requested.prune) {
        const after = requested.phase === 'prune' ? requested.pruneKey : null;
        const pruned = await this.prune(plan, runId, chunkSize, counters, lastKey, after);
        if (pruned === undefined) return;
        counters = pruned;
      }
      await execute(control, finishStatement(mapping.name, runId));
      this.logger.info({ mapping: mapping.name, ...counters }, 'online backfill done');
    } catch (error) {
      if (this.signal.aborted) return;
      // A database away: the request stays and is retried. Anything else (SQL, data, mapping)
      // means the request itself cannot work.
      if (isOutage(error)) throw error;
      this.logger.error({ mapping: mapping.name, err: error }, 'online backfill failed');
      await execute(control, failStatement(mapping.name, runId, describeError(error)));
    }
  }

  /** The copy phase; undefined when the run was replaced or the session stops. */
  private async copy(
    plan: MappingPlan,
    state: BackfillState,
    chunkSize: number,
  ): Promise<{ counters: BackfillCounters; lastKey: readonly string[] | null } | undefined> {
    const { mapping } = plan;
    const ahead = Math.max(1, this.options.windowsAhead ?? 2);
    let counters = countersOf(state);
    let committedKey = state.lastKey;
    let readFrom = committedKey;
    let exhausted = false;
    let pending: Pending[] = [];
    const logProgress = this.progressLogger(mapping.name);
    const giveUp = () => {
      for (const entry of pending) this.interceptor.cancel(entry.window.id);
      pending = [];
    };
    try {
      for (;;) {
        // Read ahead: the next chunks are read while the stream applies the current one.
        while (!exhausted && pending.length < ahead && !this.signal.aborted) {
          const next = await this.readWindow(plan, readFrom, chunkSize);
          pending.push(next);
          if (next.rows < chunkSize) exhausted = true;
          else readFrom = next.lastKey;
        }
        const head = pending.shift();
        if (head === undefined || this.signal.aborted) break;
        const result = await head.window.done;
        if (result.kind === 'retry') {
          if (this.signal.aborted) break;
          // Read again from the last recorded chunk; windows already emitted are dropped.
          giveUp();
          readFrom = committedKey;
          exhausted = false;
          continue;
        }
        if (!(await this.durable(result))) break;
        counters = {
          ...counters,
          rowsRead: counters.rowsRead + head.rows,
          rowsCopied: counters.rowsCopied + result.copied,
          deadLetters: counters.deadLetters + result.deadLetters,
        };
        committedKey = head.lastKey;
        if (!(await this.recordCopy(plan, state, counters, committedKey))) return undefined;
        logProgress(counters);
        if (exhausted && pending.length === 0) return { counters, lastKey: committedKey };
      }
      return undefined;
    } finally {
      giveUp();
    }
  }

  /**
   * Opens the window of the chunk after `readFrom`: low watermark, read, high watermark. At the
   * high watermark the stream writes the chunk's rows but those it changed in between.
   */
  private async readWindow(
    plan: MappingPlan,
    readFrom: readonly string[] | null,
    chunkSize: number,
  ): Promise<Pending> {
    const { mapping } = plan;
    const watched: WatchedTable[] = [
      { table: mapping.sourceKey, keyColumns: mapping.sourceKeyColumns },
    ];
    const window = this.interceptor.open(watched, mapping.name);
    const rows = await this.withinWindow(window, async () => {
      const chunk = await readChunk(this.options.catalog, plan.read, readFrom, chunkSize);
      window.setPayload((batch, meta, changed) => {
        const counts = mapSourceRows(mapping, chunk, batchSink(mapping, batch), {
          meta,
          skip: (row) => {
            const identity = rowKeyIdentity(row, mapping.sourceKeyColumns);
            return identity !== undefined && changed(0, identity);
          },
        });
        return { copied: counts.copied, removed: 0, deadLetters: counts.deadLetters };
      });
      return chunk;
    });
    const last = rows.at(-1);
    return {
      window,
      rows: rows.length,
      lastKey: last === undefined ? readFrom : keyOfRow(plan.read, last),
    };
  }

  /** Records a durable copy chunk; false when the run was replaced or restarted meanwhile. */
  private async recordCopy(
    plan: MappingPlan,
    state: BackfillState,
    counters: BackfillCounters,
    lastKey: readonly string[] | null,
  ): Promise<boolean> {
    const recorded = await this.record(plan, state.runId!, {
      phase: 'copy',
      lastKey,
      pruneKey: null,
      counters,
      ...(state.rowsTotal !== null && counters.rowsRead > state.rowsTotal
        ? { rowsTotal: counters.rowsRead }
        : {}),
    });
    if (!recorded) {
      this.logger.info({ mapping: plan.mapping.name }, 'online backfill replaced or restarted');
    }
    return recorded;
  }

  /** Logs the copy's progress at most every five seconds. */
  private progressLogger(mapping: string): (counters: BackfillCounters) => void {
    let lastLog = Date.now();
    return (counters) => {
      if (Date.now() - lastLog < 5_000) return;
      lastLog = Date.now();
      this.logger.info({ mapping, phase: 'copy', ...counters }, 'online backfill progress');
    };
  }

  /** The prune phase; undefined when the run was replaced or the session stops. */
  private async prune(
    plan: MappingPlan,
    runId: string,
    chunkSize: number,
    start: BackfillCounters,
    lastKey: readonly string[] | null,
    from: readonly TargetValue[] | null,
  ): Promise<BackfillCounters | undefined> {
    const watched: WatchedTable[] = plan.prune.lookups.map((lookup) => ({
      table: lookup.mapping.sourceKey,
      keyColumns: lookup.mapping.sourceKeyColumns,
    }));
    let counters = start;
    let after = from;
    while (!this.signal.aborted) {
      // Read before the low watermark: the target then holds the state of a position before it.
      const candidates = await readTargetKeys(this.options.control, plan.prune, after, chunkSize);
      if (candidates.length === 0) return counters;
      const window = this.interceptor.open(watched, plan.mapping.name);
      await this.withinWindow(window, async () => {
        const stale = await findStaleRows(this.options.catalog, plan.prune, candidates);
        window.setPayload((batch, meta, changed) => ({
          copied: 0,
          deadLetters: 0,
          removed: addRemovals(plan.prune, stale, batch, meta, (row) =>
            row.sourceIdentities.some(
              (identity, index) => identity !== undefined && changed(index, identity),
            ),
          ),
        }));
      });
      const result = await window.done;
      if (result.kind === 'retry') continue;
      if (!(await this.durable(result))) return undefined;
      after = candidates.at(-1)!.key;
      counters = { ...counters, rowsRemoved: counters.rowsRemoved + result.removed };
      if (
        !(await this.record(plan, runId, { phase: 'prune', lastKey, pruneKey: after, counters }))
      ) {
        return undefined;
      }
      if (candidates.length < chunkSize) return counters;
    }
    return undefined;
  }

  /**
   * Repairs a set of target keys (`audit --repair` beside this replicator) in one window over
   * every source table writing the target: at the high watermark each key gets the source's
   * current row, or is removed as the mapping's onDelete says when no mapping produces it, but
   * keys a streamed change in the window owns keep the stream's newer version.
   */
  private async repair(request: RepairRequest): Promise<void> {
    const mapping = this.options.mappings.find((candidate) => candidate.name === request.mapping);
    if (!mapping) return;
    try {
      const plan = await planMapping(this.options.catalog, mapping, this.options.mappings);
      for (;;) {
        const result = await this.repairWindow(plan, request);
        if (this.signal.aborted) return;
        if (result.kind === 'retry') continue;
        if (!(await this.durable(result))) return;
        const counts = { copied: result.copied, removed: result.removed };
        await execute(
          this.options.control,
          settleRepairStatement(request.id, { ...counts, deadLetters: result.deadLetters }),
        );
        this.logger.info(
          { mapping: mapping.name, keys: request.keys.length, ...counts },
          'repaired in-stream',
        );
        return;
      }
    } catch (error) {
      if (this.signal.aborted || isOutage(error)) throw error;
      this.logger.error({ mapping: mapping.name, err: error }, 'in-stream repair failed');
      const failed = settleRepairStatement(request.id, { error: describeError(error) });
      await execute(this.options.control, failed);
    }
  }

  private async repairWindow(plan: MappingPlan, request: RepairRequest): Promise<WindowResult> {
    const { mapping, prune } = plan;
    const own = prune.lookups.findIndex((lookup) => lookup.mapping.name === mapping.name);
    const watched: WatchedTable[] = prune.lookups.map((lookup) => ({
      table: lookup.mapping.sourceKey,
      keyColumns: lookup.mapping.sourceKeyColumns,
    }));
    const candidates: TargetKeyRow[] = request.keys.map((key) => ({
      key,
      record: Object.fromEntries(mapping.keyColumns.map((column, index) => [column, key[index]!])),
      flagged: false,
    }));
    const window = this.interceptor.open(watched, mapping.name);
    await this.withinWindow(window, async () => {
      const { catalog } = this.options;
      const found = await lookupCandidates(catalog, prune.lookups[own]!, candidates);
      const rows = found.flatMap((answer) => (answer.row === undefined ? [] : [answer.row]));
      const stale = await findStaleRows(catalog, prune, candidates);
      window.setPayload((batch, meta, changed) => {
        const counts = mapSourceRows(mapping, rows, batchSink(mapping, batch), {
          meta,
          skip: (row) => {
            const identity = rowKeyIdentity(row, mapping.sourceKeyColumns);
            return identity !== undefined && changed(own, identity);
          },
        });
        const removed = addRemovals(prune, stale, batch, meta, (row) =>
          row.sourceIdentities.some(
            (identity, index) => identity !== undefined && changed(index, identity),
          ),
        );
        return { copied: counts.copied, removed, deadLetters: counts.deadLetters };
      });
    });
    return window.done;
  }

  /**
   * Emits the window's low watermark, runs `read` (which sets the payload), then the high one.
   * Whatever fails in between (a statement or lock timeout, a lost connection) closes the window
   * before the error goes on: an open window would collect every changed key of its tables for the
   * rest of the session, and each retry would open another.
   */
  private async withinWindow<T>(window: WindowHandle, read: () => Promise<T>): Promise<T> {
    try {
      await this.emit(window.low);
      const result = await read();
      await this.emit(window.high);
      return result;
    } catch (error) {
      this.interceptor.cancel(window.id);
      throw error;
    }
  }

  /** Records this run's progress, once durable; false when the run was replaced meanwhile. */
  private async record(
    plan: MappingPlan,
    runId: string,
    update: Omit<ProgressUpdate, 'mapping' | 'runId'>,
  ): Promise<boolean> {
    const statement = progressStatement({ mapping: plan.mapping.name, runId, ...update });
    return (await execute(this.options.control, statement)) > 0;
  }

  /** A watermark, in its own transaction so it enters the stream at its commit. */
  private async emit(body: string): Promise<void> {
    await this.options.catalog.query('select pg_logical_emit_message(true, $1, $2)::text as lsn', [
      watermarkPrefix,
      body,
    ]);
  }

  /** Waits until the window's watermark transaction is committed on the target. */
  private async durable(result: Extract<WindowResult, { kind: 'applied' }>): Promise<boolean> {
    // The checkpoint is a commit end LSN: past the watermark transaction's commit record start.
    while (this.options.committedLsn() <= result.lsn) {
      if (this.signal.aborted) return false;
      await sleep(20, this.signal);
    }
    return true;
  }
}
