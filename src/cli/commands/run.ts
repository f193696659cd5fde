import { type Command, Option } from 'commander';
import { requestInitialBackfills } from '../../backfill/run-backfill.js';
import { UsageError } from '../../errors/millrace-error.js';
import { indexMappingsBySource } from '../../mapping/mapping-index.js';
import { startMetricsServer } from '../../metrics/metrics-server.js';
import { ReplicatorMetrics } from '../../metrics/replicator-metrics.js';
import { Replicator } from '../../replicator/replicator.js';
import { listenForStop } from '../../util/stop-signal.js';
import { createContext } from '../context.js';
import { compileLiveMappings } from '../live-mappings.js';

/** How long a graceful stop may take before the process exits anyway, in milliseconds. */
const shutdownDeadlineMs = 10_000;

export function registerRun(program: Command): void {
  program
    .command('run')
    .summary('replicate continuously from the CRM to the MES (the long-running service)')
    .description(
      'Stream changes from the CRM through the mappings into the MES staging tables. Each batch of ' +
        'source transactions is written in one MySQL transaction together with its checkpoint, and ' +
        'only then acknowledged to PostgreSQL: a crash at any moment loses nothing and applies ' +
        'nothing twice. SIGTERM/SIGINT finish the current batch, checkpoint and exit 0. Outages of ' +
        'either database are retried with backoff once replication has started.',
    )
    .addOption(
      new Option(
        '--on-error <policy>',
        'a row the target cannot take: record it in millrace_dead_letters and go on, or stop',
      )
        .choices(['deadletter', 'stop'])
        .default('deadletter'),
    )
    .option(
      '--heartbeat <seconds>',
      'with no mapped change for this long, still advance the slot so an idle CRM never pins WAL',
      '30',
    )
    .option(
      '--backfill',
      'initial load in the same process: every mapping not yet backfilled is copied in-stream while replicating (see backfill)',
    )
    .addHelpText(
      'after',
      `
Examples:
  millrace setup && millrace run
  millrace setup && millrace run --backfill
  millrace run --on-error stop --metrics-port 9187
  CRM_DATABASE_URL=postgres://millrace:…@crm:5432/crm MES_DATABASE_URL=mysql://millrace:…@mes:3306/mes millrace run`,
    )
    .action(
      async (
        options: { onError: 'deadletter' | 'stop'; heartbeat: string; backfill?: boolean },
        command: Command,
      ) => {
        const heartbeatSeconds = Number(options.heartbeat);
        if (!Number.isFinite(heartbeatSeconds) || heartbeatSeconds <= 0) {
          throw new UsageError(
            'USAGE',
            `invalid --heartbeat: expected a positive number of seconds (got '${options.heartbeat}')`,
          );
        }
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
        const replicator = new Replicator({
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
      },
    );
}
