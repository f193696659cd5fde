import { LogicalReplicationService } from 'pg-logical-replication';
import { sqlState } from '../errors/classify-error.js';
import { markError } from '../errors/error-origin.js';
import { describeError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { ChangeHandler, ChangeSource } from '../pipeline/change-source.js';
import type { SourceEvent } from '../pipeline/source-event.js';
import { formatLsn, type Lsn, parseLsn } from '../util/lsn.js';
import { pgClientConfig } from './pg-client.js';
import { MillracePgoutputPlugin } from './pgoutput/pgoutput-plugin.js';

interface ReplicationSourceOptions {
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  /** Where to start: the checkpoint read from the target (never the library's idea of it). */
  readonly startLsn: Lsn;
  readonly logger: Logger;
  /** How often the applied position is re-sent to the server, in milliseconds. */
  readonly statusIntervalMs?: number;
  /** With nothing pending for this long, ask the server for a keepalive so the slot advances, in milliseconds. */
  readonly heartbeatMs?: number;
}

/**
 * The part of pg-logical-replication's private state the socket pause needs (see `setPaused`).
 * `_connection` is also how a lost stream is told apart: it is set once the client connected and
 * cleared when the service stops, and the service reports its connect failures after stopping.
 */
/**
 * The library's private connection, whose socket is paused for backpressure (the library has no
 * flow control that keeps a pipeline's own bounded queue in charge).
 */
interface ServiceConnection {
  stream?: { pause?: () => void; resume?: () => void };
}

/**
 * The CRM side of the data path: a pgoutput stream decoded into SourceEvents, and the
 * acknowledgements that move the slot. It acknowledges only what the pipeline reports as applied
 * (`acknowledge`), exactly at a commit's end LSN, never 0/0 and never the library's idea of the
 * last received position.
 */
export class ReplicationSource implements ChangeSource {
  private readonly service: LogicalReplicationService;
  private readonly options: ReplicationSourceOptions;
  private readonly logger: Logger;
  /** Highest commit end LSN applied on the target (or the checkpoint we started from). */
  private applied: Lsn;
  /** Highest commit end LSN handed to the pipeline. */
  private received: Lsn;
  /** Position confirmed to the server; only moves forward. */
  private confirmed = 0n;
  private inTransaction = false;
  private lastChangeAt = Date.now();
  private statusTimer: NodeJS.Timeout | undefined;
  private paused = false;
  private stopped = false;
  private handler: ChangeHandler = {
    event: () => undefined,
    fail: () => undefined,
  };

  constructor(options: ReplicationSourceOptions) {
    this.options = options;
    this.logger = options.logger;
    this.applied = options.startLsn;
    this.received = options.startLsn;
    this.service = new LogicalReplicationService(
      pgClientConfig({
        url: options.url,
        replication: true,
        applicationName: `millrace:${options.slot}`,
      }),
      // The library's own timer acknowledges the last *received* LSN even with auto off: disable it.
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } },
    );
  }

  /**
   * Starts streaming. Resolves once the server accepted START_REPLICATION; a slot or publication
   * that is missing or in use rejects with a line that names the fix.
   */
  async start(handler: ChangeHandler): Promise<void> {
    this.handler = handler;
    await this.subscribe().catch((error: unknown) => {
      throw this.explainStartFailure(error);
    });
  }

  private async subscribe(): Promise<void> {
    const plugin = new MillracePgoutputPlugin({ publication: this.options.publication });
    this.service.on('data', (_lsn: string, decoded: SourceEvent | RuntimeFailure | undefined) =>
      this.handleDecoded(decoded),
    );
    this.service.on('heartbeat', (lsn: string, _timestamp: number, shouldRespond: boolean) =>
      this.handleKeepalive(parseLsn(lsn), shouldRespond),
    );
    // With a connection, 'error' is its client's: pg emits that only when the socket is gone.
    this.service.on('error', (error: Error) => this.fail(error, this.connection() !== undefined));
    const started = new Promise<void>((resolve) => this.service.once('start', () => resolve()));
    const streaming = this.service.subscribe(
      plugin,
      this.options.slot,
      formatLsn(this.options.startLsn),
    );
    streaming.then(
      () => {
        if (!this.stopped) {
          this.fail(new RuntimeFailure('STREAM_ENDED', 'replication stream ended'), true);
        }
      },
      (error: unknown) => this.fail(error, false),
    );
    await Promise.race([started, streaming.then(() => undefined)]);
    if (this.stopped) return;
    const interval = this.options.statusIntervalMs ?? 5_000;
    this.statusTimer = setInterval(() => this.onTimer(), Math.min(interval, 1_000));
    this.statusTimer.unref();
  }

  private explainStartFailure(error: unknown): unknown {
    const code = sqlState(error);
    const { slot } = this.options;
    if (code === '42704') {
      return new RuntimeFailure(
        'SLOT_MISSING',
        `replication slot '${slot}' does not exist; run \`millrace setup\` first`,
        { cause: error },
      );
    }
    if (code === '55006') {
      return new RuntimeFailure(
        'SLOT_IN_USE',
        `replication slot '${slot}' is in use by another connection (${describeError(error)}); stop the other replicator first`,
        { cause: error },
      );
    }
    return error;
  }

  /** The pipeline applied every transaction up to this commit end LSN on the target. */
  acknowledge(lsn: Lsn): void {
    if (lsn <= this.applied) return;
    this.applied = lsn;
    this.sendStatus(false);
  }

  /** Backpressure: stop reading the socket (the kernel buffers, then TCP pushes back on the server). */
  pause(paused: boolean): void {
    if (paused === this.paused) return;
    this.paused = paused;
    const stream = this.connection()?.stream;
    if (paused) stream?.pause?.();
    else stream?.resume?.();
  }

  /** The last position confirmed to the server. */
  confirmedLsn(): Lsn {
    return this.confirmed;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.statusTimer);
    // A last status so the server records what was applied before the connection closes.
    this.sendStatus(false);
    await this.service.destroy().catch(() => undefined);
  }

  /** `lost`: the stream's connection is known to be gone (its error may not say so). */
  private fail(error: unknown, lost: boolean): void {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.statusTimer);
    void this.service.destroy().catch(() => undefined);
    this.handler.fail(markError(error, 'crm', lost));
  }

  private connection(): ServiceConnection | undefined {
    const connection: ServiceConnection | null | undefined = Reflect.get(
      this.service,
      '_connection',
    );
    return connection ?? undefined;
  }

  private isIdle(): boolean {
    return !this.inTransaction && this.applied >= this.received;
  }

  private onTimer(): void {
    const heartbeatMs = this.options.heartbeatMs ?? 30_000;
    const idleFor = Date.now() - this.lastChangeAt;
    if (this.isIdle() && idleFor >= heartbeatMs) {
      // Ask for a keepalive: its LSN lets an idle slot advance past WAL of other databases.
      this.lastChangeAt = Date.now();
      this.sendStatus(true);
      return;
    }
    this.sendStatus(false, this.options.statusIntervalMs ?? 5_000);
  }

  private lastStatusAt = 0;

  /** Sends the standby status update; `minIntervalMs` skips it when one went out recently. */
  private sendStatus(ping: boolean, minIntervalMs = 0): void {
    if (this.stopped && !ping && this.applied === 0n) return;
    const position = this.applied > this.confirmed ? this.applied : this.confirmed;
    if (position === 0n) return;
    if (!ping && position === this.confirmed && Date.now() - this.lastStatusAt < minIntervalMs)
      return;
    this.confirmed = position;
    this.lastStatusAt = Date.now();
    // The library reports lsn + 1; the server must see exactly the commit end LSN, or it
    // would skip a transaction whose commit record starts there.
    void this.service
      .acknowledge(formatLsn(position - 1n), ping)
      .catch((error: unknown) => this.fail(error, false));
  }

  private handleKeepalive(lsn: Lsn, shouldRespond: boolean): void {
    if (this.isIdle() && lsn > this.applied) {
      // Nothing received is waiting to be applied, so everything below the server's position
      // is either applied or irrelevant to the publication.
      this.applied = lsn;
      this.received = lsn;
    }
    if (shouldRespond || this.applied > this.confirmed) this.sendStatus(false);
  }

  private handleDecoded(decoded: SourceEvent | RuntimeFailure | undefined): void {
    if (decoded === undefined) return;
    if (decoded instanceof RuntimeFailure) {
      this.fail(decoded, false);
      return;
    }
    switch (decoded.kind) {
      case 'begin':
        this.inTransaction = true;
        break;
      case 'commit':
        // A change's time is its transaction's: idle is measured between transactions.
        this.lastChangeAt = Date.now();
        this.inTransaction = false;
        if (decoded.endLsn > this.received) this.received = decoded.endLsn;
        break;
    }
    this.handler.event(decoded);
  }
}
