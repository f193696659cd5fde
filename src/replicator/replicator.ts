import { redactText } from '../config/redact.js';
import { isOutage } from '../errors/classify-error.js';
import { errorSide } from '../errors/error-origin.js';
import { describeError } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { indexMappingsBySource } from '../mapping/mapping-index.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import type { OnBadRow } from '../mysql/writer.js';
import type { TableTypes } from '../pipeline/relation-check.js';
import { formatLsn } from '../util/lsn.js';
import { withReleasers } from '../util/releasers.js';
import { backoffDelay, sleep } from '../util/sleep.js';
import { runSession, type SessionOptions } from './session.js';

interface ReplicatorOptions {
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
  /** `run --standby`: wait for the active instance's lock instead of exiting 3. */
  readonly standby?: boolean;
}

type ReplicatorState =
  | 'starting'
  | 'standby'
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
  private readonly sessionOptions: SessionOptions;
  /** Source types as the first session read them, close to when the mappings were compiled. */
  private compiledTypes: ReadonlyMap<string, TableTypes> | undefined;
  private state: ReplicatorState = 'starting';
  private stateDetail = '';

  constructor(options: ReplicatorOptions) {
    this.options = options;
    this.logger = options.logger;
    this.sessionOptions = {
      sourceUrl: options.sourceUrl,
      targetUrl: options.targetUrl,
      slot: options.slot,
      publication: options.publication,
      mappings: options.mappings,
      mappingsByTable: indexMappingsBySource(options.mappings),
      onBadRow: options.onBadRow,
      heartbeatMs: options.heartbeatSeconds * 1000,
      connectTimeoutMs: options.connectTimeoutMs,
      logger: options.logger,
      progressIntervalMs: options.progressIntervalMs ?? 10_000,
      standby: options.standby === true,
      ...(options.metrics ? { metrics: options.metrics } : {}),
      ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
      ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
    };
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
    this.options.metrics?.setStandby(state === 'standby');
    const log =
      state === 'source down' || state === 'target down' ? this.logger.warn : this.logger.info;
    log.call(
      this.logger,
      { state, ...fields, ...(detail ? { detail } : {}) },
      state === 'standby' ? 'replicator standing by' : `replicator ${state}`,
    );
  }

  /** Runs until `signal` aborts (resolves after a clean stop) or a non-transient failure (rejects). */
  async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    let started = false;
    // A standby that waited once is past the start-up checks: losing the MES while it waits is
    // an outage like any other, waited out, and then it waits for the lock again.
    let stoodBy = false;
    for (;;) {
      try {
        await this.session(
          signal,
          started,
          () => {
            started = true;
            attempt = 0;
          },
          () => {
            stoodBy = true;
            attempt = 0;
          },
        );
        this.setState('stopped');
        return;
      } catch (error) {
        if (signal.aborted) {
          this.setState('stopped');
          return;
        }
        // Before the first successful start, the start-up rules apply: fail fast with exit 3.
        if (!(started || stoodBy) || !isOutage(error)) throw error;
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
  private session(
    signal: AbortSignal,
    restarting: boolean,
    onReplicating: () => void,
    onStandby: () => void,
  ): Promise<void> {
    const options: SessionOptions = {
      ...this.sessionOptions,
      // After the first start, outages are retried by run(); each connect here tries briefly.
      connectTimeoutMs: restarting ? 2_000 : this.options.connectTimeoutMs,
    };
    return withReleasers((releasers) =>
      runSession(options, {
        signal,
        restarting,
        releasers,
        onReplicating: (checkpoint) => {
          this.setState('replicating', '', {
            slot: options.slot,
            checkpoint: formatLsn(checkpoint),
          });
          onReplicating();
        },
        compiledTypes: (current) => {
          this.compiledTypes ??= current;
          return this.compiledTypes;
        },
        onStopping: (checkpoint) =>
          this.setState('stopping', '', { checkpoint: formatLsn(checkpoint) }),
        onStandby: (holder) => {
          // Logged once per wait; /healthz answers 503 "standby" meanwhile.
          this.setState('standby', '', { slot: options.slot, holder });
          onStandby();
        },
      }),
    );
  }
}
