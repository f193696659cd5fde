import type { Command } from 'commander';
import type { Registry } from 'prom-client';
import { requestInitialBackfills } from '../../backfill/run-backfill.js';
import type { ResolvedConfig } from '../../config/resolve-config.js';
import { UsageError } from '../../errors/millrace-error.js';
import type { Logger } from '../../log/logger.js';
import { indexMappingsBySource } from '../../mapping/mapping-index.js';
import { MetricFamilies } from '../../metrics/metric-families.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { ReplicatorMetrics } from '../../metrics/replicator-metrics.js';
import type { Replicator } from '../../replicator/replicator.js';
import { toCrmReplicator } from '../../replicator/to-crm.js';
import { toMesReplicator } from '../../replicator/to-mes.js';
import { listenForStop } from '../../util/stop-signal.js';
import type { OnBadRow } from '../../writes/refuse-row.js';
import { createContext } from '../context.js';
import { parsePositiveSeconds } from '../flags.js';
import { compileLiveMappings } from '../live-mappings.js';

/** How long a graceful stop may take before the process exits anyway, in milliseconds. */
const shutdownDeadlineMs = 10_000;

interface RunOptions {
  onError: OnBadRow;
  heartbeat: string;
  backfill?: boolean;
  standby?: boolean;
  direction: 'to-mes' | 'to-crm' | 'both';
}

/** `millrace run`: the long-running service, until SIGTERM/SIGINT or a failure. */
export async function executeRun(options: RunOptions, command: Command): Promise<void> {
  const heartbeatSeconds = parsePositiveSeconds('--heartbeat', options.heartbeat);
  const { config, logger } = createContext(command);
  const forward =
    options.direction === 'to-crm' ? [] : await compileLiveMappings(config, logger, 'to-mes');
  const back =
    options.direction === 'to-mes' ? [] : await compileLiveMappings(config, logger, 'to-crm');
  if (options.direction === 'to-crm' && back.length === 0) {
    throw new UsageError(
      'USAGE',
      `run --direction to-crm: ${config.mappingsDir} has no mapping with \`direction: to-crm\``,
    );
  }
  // With no return mapping, `run` is the forward replicator it always was.
  const runForward = options.direction !== 'to-crm' && (forward.length > 0 || back.length === 0);
  if (options.backfill && runForward) {
    // Performed by the replicator itself between watermarks (src/backfill), so the stream
    // never stalls behind the load and a restart resumes it where it was.
    await requestInitialBackfills({
      targetUrl: config.targetUrl,
      connectTimeoutMs: config.connectTimeoutMs,
      mappings: forward,
      logger,
    });
  }
  // One registry for both streams; each writes its own series (label `direction`).
  const families = new MetricFamilies();
  const replicators: Replicator[] = [];
  if (runForward) {
    replicators.push(
      toMesReplicator({
        sourceUrl: config.sourceUrl,
        targetUrl: config.targetUrl,
        slot: config.slot,
        publication: config.publication,
        mappings: forward,
        onBadRow: options.onError,
        heartbeatSeconds,
        connectTimeoutMs: config.connectTimeoutMs,
        logger,
        metrics: new ReplicatorMetrics(families, 'to-mes', indexMappingsBySource(forward)),
        standby: options.standby === true,
      }),
    );
  }
  if (back.length > 0) {
    replicators.push(
      toCrmReplicator({
        sourceUrl: config.sourceUrl,
        targetUrl: config.targetUrl,
        stream: config.slot,
        mappings: back,
        onBadRow: options.onError,
        connectTimeoutMs: config.connectTimeoutMs,
        logger,
        metrics: new ReplicatorMetrics(families, 'to-crm', indexMappingsBySource(back)),
        standby: options.standby === true,
      }),
    );
  }
  await serve(config, logger, families.registry, replicators);
}

/**
 * Runs every direction until the stop signal, each with its own restart loop; a direction that
 * fails for good (a mistake, not an outage) stops the others too, and its error is the exit.
 */
async function serve(
  config: ResolvedConfig,
  logger: Logger,
  registry: Registry,
  replicators: readonly Replicator[],
): Promise<void> {
  const health = () => {
    const each = replicators.map((replicator) => replicator.health());
    return { ok: each.every((one) => one.ok), detail: each.map((one) => one.detail).join('; ') };
  };
  const server =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer({ port: config.metricsPort, registry, health });
  if (server) logger.info({ port: server.port }, 'serving /metrics and /healthz');
  const stop = listenForStop({
    logger,
    stopping: 'stopping: finishing the current batch',
    deadlineMs: shutdownDeadlineMs,
  });
  const all = new AbortController();
  const onStop = () => all.abort();
  stop.signal.addEventListener('abort', onStop);
  try {
    const runs = replicators.map((replicator) =>
      replicator.run(all.signal).catch((error: unknown) => {
        all.abort();
        throw error;
      }),
    );
    const failed = (await Promise.allSettled(runs)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    stop.signal.removeEventListener('abort', onStop);
    stop.dispose();
    await server?.close();
  }
}
