import type { Logger } from '../log/logger.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import type { Lsn } from '../util/lsn.js';

interface ProgressReporterOptions {
  /**
   * Bytes of the source's log between its end and the position applied (undefined while that
   * cannot be told, e.g. before the first checkpoint). Each direction measures its own source.
   */
  readonly lagBytes: () => Promise<bigint | undefined>;
  /** Further readings each interval (the forward slot's WAL gauges). */
  readonly observe?: () => Promise<void>;
  /** What the pipeline holds: the position durable on the target, and events queued. */
  readonly committedLsn: () => Lsn;
  /** Spells a position for the progress line (an LSN, a binlog file and offset). */
  readonly formatPosition: (position: Lsn) => string;
  readonly queued: () => number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  /** Time between two progress lines, in milliseconds. */
  readonly intervalMs: number;
}

/**
 * A progress line every interval (changes/s, lag) and the lag gauges. Returns the function that
 * stops it. A failed reading skips one line: the session's own failure handling sees outages.
 */
export function startProgressReporter(options: ProgressReporterOptions): () => void {
  const { metrics, logger } = options;
  let lastChanges = metrics?.snapshot().changes ?? 0;
  let lastAt = Date.now();
  const report = async () => {
    const measured = await options.lagBytes();
    if (measured !== undefined) metrics?.observeLag(measured);
    const lagBytes = measured ?? 0n;
    if (metrics) await options.observe?.();
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
        checkpoint: options.formatPosition(options.committedLsn()),
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
