import { OnlineBackfills } from '../backfill/online-backfills.js';
import { TruncateAwareMapper } from '../backfill/watermark-interceptor.js';
import { redactText } from '../config/redact.js';
import { isOutage, sqlState } from '../errors/classify-error.js';
import { errorSide } from '../errors/error-origin.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { indexMappingsBySource } from '../mapping/mapping-index.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import { loadCheckpoint } from '../mysql/checkpoint-store.js';
import { connectTarget, type MysqlConnection, parseTargetUrl } from '../mysql/mysql-client.js';
import { acquireReplicatorLock } from '../mysql/replicator-lock.js';
import { type OnBadRow, TargetWriter } from '../mysql/writer.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createRelationCheck } from '../pipeline/relation-check.js';
import { readCurrentWalLsn, readDeclaredTypes } from '../postgres/declared-types.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { ReplicationSource } from '../postgres/replication-source.js';
import { formatLsn, parseLsn } from '../util/lsn.js';
import { backoffDelay, sleep } from '../util/sleep.js';

export interface ReplicatorOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  readonly publication: string;
  readonly mappings: readonly CompiledMapping[];
  readonly onBadRow: OnBadRow;
  /** Idle time after which the slot is advanced anyway, in seconds. */
  readonly heartbeatSeconds: number;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  /** Batch bounds, for tests and tuning. */
  readonly maxBatchWrites?: number;
  readonly maxBatchDelayMs?: number;
  /** How often a progress line is logged, in milliseconds. */
  readonly progressIntervalMs?: number;
}

export type ReplicatorState =
  | 'starting'
  | 'replicating'
  | 'source down'
  | 'target down'
  | 'stopping'
  | 'stopped';

/**
 * `millrace run`: connects, takes the per-slot lock, resumes from the target's checkpoint and
 * replicates until stopped. Once replicating, an outage of either database is waited out with
 * capped exponential backoff and the stream restarts from the checkpoint, so nothing is lost or
 * applied twice. Mistakes (DDL drift, a bad row with --on-error stop, a missing slot) stop it.
 */
export class Replicator {
  private readonly options: ReplicatorOptions;
  private readonly logger: Logger;
  private readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  private state: ReplicatorState = 'starting';
  private stateDetail = '';

  constructor(options: ReplicatorOptions) {
    this.options = options;
    this.logger = options.logger;
    this.mappingsByTable = indexMappingsBySource(options.mappings);
  }

  /** For /healthz: healthy only while replicating. */
  health(): { ok: boolean; detail: string } {
    return { ok: this.state === 'replicating', detail: this.stateDetail || this.state };
  }

  private setState(
    state: ReplicatorState,
    detail = '',
    fields: Record<string, unknown> = {},
  ): void {
    if (state === this.state && detail === this.stateDetail) return;
    this.state = state;
    this.stateDetail = detail;
    this.options.metrics?.setUp(state === 'replicating');
    const log =
      state === 'source down' || state === 'target down' ? this.logger.warn : this.logger.info;
    log.call(
      this.logger,
      { state, ...fields, ...(detail ? { detail } : {}) },
      `replicator ${state}`,
    );
  }

  /** Runs until `signal` aborts (resolves after a clean stop) or a non-transient failure (rejects). */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let started = false;
    for (;;) {
      try {
        await this.session(signal, started, () => {
          started = true;
          attempt = 0;
        });
        this.setState('stopped');
        return;
      } catch (error) {
        if (signal.aborted) {
          this.setState('stopped');
          return;
        }
        // Before the first successful start, the start-up rules apply: fail fast with exit 3.
        if (!started || !isOutage(error)) throw error;
        const side = errorSide(error) === 'mes' ? 'target' : 'source';
        this.options.metrics?.reconnected(side);
        this.setState(
          side === 'source' ? 'source down' : 'target down',
          redactText(describeError(error)),
        );
        await sleep(backoffDelay(attempt++, 500, 30_000), signal);
        if (signal.aborted) {
          this.setState('stopped');
          return;
        }
      }
    }
  }

  /** One connected session: from the checkpoint until stop or failure. */
  private async session(
    signal: AbortSignal,
    restarting: boolean,
    onReplicating: () => void,
  ): Promise<void> {
    const { options } = this;
    // After the first start, outages are retried by run(); each connect here tries briefly.
    const connectTimeoutMs = restarting ? 2_000 : options.connectTimeoutMs;
    const releasers: (() => Promise<unknown>)[] = [];
    const release = async () => {
      while (releasers.length > 0) await releasers.pop()!().catch(() => undefined);
    };
    let source: ReplicationSource | undefined;
    try {
      const database = parseTargetUrl(options.targetUrl).database;
      const lockConnection = await connectTarget({
        url: options.targetUrl,
        timeoutMs: connectTimeoutMs,
        logger: this.logger,
      });
      releasers.push(() => lockConnection.end());
      await this.acquireLock(lockConnection, database, restarting, signal);
      const target = await connectTarget({
        url: options.targetUrl,
        timeoutMs: connectTimeoutMs,
        logger: this.logger,
      });
      releasers.push(() => target.end());
      const catalog = await connectSource({
        url: options.sourceUrl,
        timeoutMs: connectTimeoutMs,
        logger: this.logger,
      });
      releasers.push(() => catalog.end());
      // Online backfill (DBLog watermarks, src/backfill): chunks that `millrace backfill` asks
      // for while this runs are read between watermarks and applied by the pipeline in stream
      // order. Its own target session: requests and progress must stay out of the writer's.
      const control = await connectTarget({
        url: options.targetUrl,
        timeoutMs: connectTimeoutMs,
        logger: this.logger,
      });
      releasers.push(() => control.end());
      const backfills: OnlineBackfills = new OnlineBackfills({
        catalog,
        control,
        mappings: options.mappings,
        committedLsn: (): bigint => pipeline.committedLsn(),
        onConnectionLost: (error) => pipeline.fail(error),
        logger: this.logger.child({ component: 'backfill' }),
      });

      const checkpoint = await loadCheckpoint(target, options.slot);
      const declaredTypes = await readDeclaredTypes(catalog, [...this.mappingsByTable.keys()]);
      const writer = new TargetWriter({
        connection: target,
        logger: this.logger.child({ component: 'writer' }),
        onBadRow: options.onBadRow,
        onDeadLetter: (letter) => options.metrics?.deadLetter(letter.origin.mapping),
      });
      releasers.push(() => writer.rollback());
      const pipeline = new Pipeline({
        // A ChangeMapper that also tells the backfill windows about TRUNCATEs.
        mapper: new TruncateAwareMapper({
          mappingsByTable: this.mappingsByTable,
          onBadRow: options.onBadRow,
          onTruncate: (event) => backfills.interceptor.onTruncate(event),
        }),
        interceptor: backfills.interceptor,
        writer,
        slot: options.slot,
        checkpoint: checkpoint.lsn,
        acknowledge: (lsn) => source?.markApplied(lsn),
        pauseSource: (paused) => source?.setPaused(paused),
        checkRelation: createRelationCheck(this.mappingsByTable, declaredTypes),
        logger: this.logger.child({ component: 'pipeline' }),
        ...(options.metrics ? { observer: options.metrics } : {}),
        ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
        ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
      });
      source = new ReplicationSource({
        url: options.sourceUrl,
        slot: options.slot,
        publication: options.publication,
        startLsn: checkpoint.lsn,
        logger: this.logger.child({ component: 'source' }),
        onEvent: (event) => pipeline.push(event),
        onError: (error) => pipeline.fail(error),
        heartbeatMs: options.heartbeatSeconds * 1000,
      });
      const started = source;
      releasers.push(() => started.stop());
      await source.start().catch((error: unknown) => {
        throw this.explainStartFailure(error);
      });
      this.setState('replicating', '', {
        slot: options.slot,
        checkpoint: formatLsn(checkpoint.lsn),
      });
      onReplicating();
      backfills.start();
      releasers.push(() => backfills.stop());
      const progress = this.startProgress(catalog, pipeline);
      releasers.push(async () => clearInterval(progress));
      // Stop reading as soon as the stop is asked for; the pipeline finishes what it has.
      await pipeline.run(signal);
      this.setState('stopping', '', { checkpoint: formatLsn(pipeline.committedLsn()) });
    } finally {
      await release();
    }
  }

  private async acquireLock(
    connection: MysqlConnection,
    database: string,
    restarting: boolean,
    signal: AbortSignal,
  ) {
    for (let attempt = 0; ; attempt++) {
      try {
        return await acquireReplicatorLock(connection, database, this.options.slot);
      } catch (error) {
        // After an outage the server may not have noticed yet that our old session is gone.
        if (!restarting || attempt >= 30 || signal.aborted) throw error;
        await sleep(1_000, signal);
      }
    }
  }

  private explainStartFailure(error: unknown): unknown {
    const code = sqlState(error);
    const { slot, publication } = this.options;
    if (code === '42704') {
      return new RuntimeFailure(
        'SLOT_MISSING',
        `replication slot '${slot}' does not exist; run \`millrace setup\` first`,
        {
          cause: error,
        },
      );
    }
    if (code === '55006') {
      return new RuntimeFailure(
        'SLOT_IN_USE',
        `replication slot '${slot}' is in use by another connection (${describeError(error)}); stop the other replicator first`,
        { cause: error },
      );
    }
    if (code === '42P01') {
      return new RuntimeFailure(
        'PUBLICATION_MISSING',
        `publication '${publication}' does not exist; run \`millrace setup\` first`,
        {
          cause: error,
        },
      );
    }
    return error;
  }

  /** A progress line every interval (changes/s, lag), and the lag gauges. */
  private startProgress(catalog: PgClient, pipeline: Pipeline): NodeJS.Timeout {
    const interval = this.options.progressIntervalMs ?? 10_000;
    let lastChanges = this.options.metrics?.snapshot().changes ?? 0;
    let lastAt = Date.now();
    const timer = setInterval(() => {
      readCurrentWalLsn(catalog)
        .then((current) => {
          const lagBytes = parseLsn(current) - pipeline.committedLsn();
          this.options.metrics?.observeLag(lagBytes);
          const snapshot = this.options.metrics?.snapshot();
          const now = Date.now();
          const changes = snapshot?.changes ?? 0;
          this.logger.info(
            {
              changesPerSecond: Math.round(
                ((changes - lastChanges) * 1000) / Math.max(1, now - lastAt),
              ),
              lagBytes: Number(lagBytes > 0n ? lagBytes : 0n),
              lagSeconds:
                lagBytes > 0n && snapshot?.lastSourceCommitMs
                  ? Math.max(0, (now - snapshot.lastSourceCommitMs) / 1000)
                  : 0,
              queued: pipeline.queued(),
              checkpoint: formatLsn(pipeline.committedLsn()),
            },
            'progress',
          );
          lastChanges = changes;
          lastAt = now;
        })
        .catch(() => undefined);
    }, interval);
    timer.unref();
    return timer;
  }
}
