import { redactText } from '../config/redact.js';
import { isOutage } from '../errors/classify-error.js';
import { errorSide } from '../errors/error-origin.js';
import { describeError } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import type { TableTypes } from '../pipeline/relation-check.js';
import { formatLsn } from '../util/lsn.js';
import { withReleasers } from '../util/releasers.js';
import { backoffDelay, sleep } from '../util/sleep.js';
import type { SessionContext } from './session.js';

interface ReplicatorOptions {
  /** Which database the stream reads: its outages are "source down", the other's "target down". */
  readonly sourceSide: 'crm' | 'mes';
  /** What names this stream in its state lines (the slot, the direction). */
  readonly identity: Readonly<Record<string, string>>;
  /** Spells a checkpoint for the state lines (an LSN, a binlog file and offset). */
  readonly formatPosition?: (position: bigint) => string;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  /**
   * `run --standby`: waiting for the lock is standing by. Without it, the only wait is a
   * restart's for the lock the server still keeps for the session that just died.
   */
  readonly standby: boolean;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  /** One connected session of this direction, from its checkpoint until stop or failure. */
  readonly session: (connectTimeoutMs: number, context: SessionContext) => Promise<void>;
}

type ReplicatorState =
  | 'starting'
  | 'standby'
  | 'reclaiming lock'
  | 'replicating'
  | 'source down'
  | 'target down'
  | 'stopping'
  | 'stopped';

/**
 * `millrace run`, one direction: runs its sessions (each connects, takes the direction's lock,
 * resumes from the target's checkpoint and replicates) until stopped. Once replicating, an outage of either database is waited out with
 * capped exponential backoff and the stream restarts from the checkpoint, so nothing is lost or
 * applied twice. Mistakes (DDL drift, a bad row with --on-error stop, a missing slot) stop it.
 */
export class Replicator {
  private readonly options: ReplicatorOptions;
  private readonly logger: Logger;
  /** Source types as the first session read them, close to when the mappings were compiled. */
  private compiledTypes: ReadonlyMap<string, TableTypes> | undefined;
  private state: ReplicatorState = 'starting';
  private stateDetail = '';

  constructor(options: ReplicatorOptions) {
    this.options = options;
    this.logger = options.logger;
  }

  private format(position: bigint): string {
    return (this.options.formatPosition ?? formatLsn)(position);
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
        const side = errorSide(error) === this.options.sourceSide ? 'source' : 'target';
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
    // After the first start, outages are retried by run(); each connect here tries briefly.
    const connectTimeoutMs = restarting ? 2_000 : this.options.connectTimeoutMs;
    return withReleasers((releasers) =>
      this.options.session(connectTimeoutMs, {
        signal,
        restarting,
        releasers,
        onReplicating: (checkpoint) => {
          this.setState('replicating', '', {
            ...this.options.identity,
            checkpoint: this.format(checkpoint),
          });
          onReplicating();
        },
        compiledTypes: (current) => {
          this.compiledTypes ??= current;
          return this.compiledTypes;
        },
        onStopping: (checkpoint) =>
          this.setState('stopping', '', { checkpoint: this.format(checkpoint) }),
        onStandby: (holder) => {
          // Logged once per wait; /healthz answers 503 with the state meanwhile.
          this.setState(this.options.standby ? 'standby' : 'reclaiming lock', '', {
            ...this.options.identity,
            holder,
          });
          onStandby();
        },
      }),
    );
  }
}
