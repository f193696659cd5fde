import type { Command } from 'commander';
import { requestInitialBackfills } from '../../backfill/run-backfill.js';
import { indexMappingsBySource } from '../../mapping/mapping-index.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { ReplicatorMetrics } from '../../metrics/replicator-metrics.js';
import { toMesReplicator } from '../../replicator/to-mes.js';
import { listenForStop } from '../../util/stop-signal.js';
import { createContext } from '../context.js';
import { parsePositiveSeconds } from '../flags.js';
import { compileLiveMappings } from '../live-mappings.js';

/** How long a graceful stop may take before the process exits anyway, in milliseconds. */
const shutdownDeadlineMs = 10_000;

/** `millrace run`: the long-running service, until SIGTERM/SIGINT or a failure. */
export async function executeRun(
  options: {
    onError: 'deadletter' | 'stop';
    heartbeat: string;
    backfill?: boolean;
    standby?: boolean;
  },
  command: Command,
): Promise<void> {
  const heartbeatSeconds = parsePositiveSeconds('--heartbeat', options.heartbeat);
  const { config, logger } = createContext(command);
  const mappings = await compileLiveMappings(config, logger);
  if (options.backfill) {
    // Performed by the replicator itself between watermarks (src/backfill), so the stream
    // never stalls behind the load and a restart resumes it where it was.
    await requestInitialBackfills({
      targetUrl: config.targetUrl,
      connectTimeoutMs: config.connectTimeoutMs,
      mappings,
      logger,
    });
  }
  const metrics = new ReplicatorMetrics(indexMappingsBySource(mappings));
  const replicator = toMesReplicator({
    sourceUrl: config.sourceUrl,
    targetUrl: config.targetUrl,
    slot: config.slot,
    publication: config.publication,
    mappings,
    onBadRow: options.onError,
    heartbeatSeconds,
    connectTimeoutMs: config.connectTimeoutMs,
    logger,
    metrics,
    standby: options.standby === true,
  });
  const server =
    config.metricsPort === undefined
      ? undefined
      : await startMetricsServer({
          port: config.metricsPort,
          registry: metrics.registry,
          health: () => replicator.health(),
        });
  if (server) logger.info({ port: server.port }, 'serving /metrics and /healthz');

  const stop = listenForStop({
    logger,
    stopping: 'stopping: finishing the current batch',
    deadlineMs: shutdownDeadlineMs,
  });
  try {
    await replicator.run(stop.signal);
  } finally {
    stop.dispose();
    await server?.close();
  }
}
