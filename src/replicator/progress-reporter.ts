import type { Logger } from '../log/logger.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import { readCurrentWalLsn } from '../postgres/declared-types.js';
import type { PgClient } from '../postgres/pg-client.js';
import { readSlotStatus } from '../postgres/slot-status.js';
import { formatLsn, type Lsn, parseLsn } from '../util/lsn.js';

interface ProgressReporterOptions {
  /** A normal session on the CRM, for the current WAL position. */
  readonly catalog: PgClient;
  /** The replication slot, whose retained WAL the metrics report. */
  readonly slot: string;
  /** What the pipeline holds: the commit end LSN durable on the target, and events queued. */
  readonly committedLsn: () => Lsn;
  /**
   * How far the slot is acknowledged: the commits applied, and past them, while idle, the
   * server's keepalive position (WAL of unmapped tables). Lag is measured from here, so a quiet
   * publication on a busy server does not look like a growing backlog.
   */
  readonly acknowledgedLsn: () => Lsn;
  readonly queued: () => number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  /** Time between two progress lines, in milliseconds. */
  readonly intervalMs: number;
}

/**
 * A progress line every interval (changes/s, lag), the lag gauges and the slot's WAL gauges.
 * Returns the function that stops it. A failed WAL read skips one line: the session's own
 * failure handling sees outages.
 */
export function startProgressReporter(options: ProgressReporterOptions): () => void {
  const { metrics, logger } = options;
  let lastChanges = metrics?.snapshot().changes ?? 0;
  let lastAt = Date.now();
  const report = async () => {
    const lagBytes = parseLsn(await readCurrentWalLsn(options.catalog)) - options.acknowledgedLsn();
    metrics?.observeLag(lagBytes);
    const slot = metrics ? await readSlotStatus(options.catalog, options.slot) : undefined;
    if (slot) metrics?.observeSlot(options.slot, slot);
    const snapshot = metrics?.snapshot();
    const now = Date.now();
    const changes = snapshot?.changes ?? 0;
    logger.info(
      {
        changesPerSecond: Math.round(((changes - lastChanges) * 1000) / Math.max(1, now - lastAt)),
        lagBytes: Number(lagBytes > 0n ? lagBytes : 0n),
        lagSeconds:
          lagBytes > 0n && snapshot?.lastSourceCommitMs
            ? Math.max(0, (now - snapshot.lastSourceCommitMs) / 1000)
            : 0,
        queued: options.queued(),
        checkpoint: formatLsn(options.committedLsn()),
      },
      'progress',
    );
    lastChanges = changes;
    lastAt = now;
  };
  const timer = setInterval(() => void report().catch(() => undefined), options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
