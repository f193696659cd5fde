import type { Command } from 'commander';
import { createProgressView, formatSummary } from '../../backfill/backfill-progress.js';
import { runBackfill } from '../../backfill/run-backfill.js';
import { backfillToCrm } from '../../backfill/to-crm/backfill-to-crm.js';
import { isInteractive } from '../../config/resolve-config.js';
import { selectMappings } from '../../mapping/mapping-index.js';
import { listenForStop } from '../../util/stop-signal.js';
import { createContext } from '../context.js';
import { parseRowLimit } from '../flags.js';
import { compileLiveMappings } from '../live-mappings.js';

/**
 * Largest accepted --chunk-size. The offline copy streams a chunk's rows, but keeps its dead
 * letters in memory until the chunk commits.
 */
const maxChunkSize = 1_000_000;

interface BackfillFlags {
  readonly table: string[];
  readonly chunkSize: string;
  readonly restart?: boolean;
}

export async function executeBackfill(flags: BackfillFlags, command: Command): Promise<void> {
  const chunkSize = parseRowLimit('--chunk-size', flags.chunkSize, maxChunkSize);
  const { config, logger, print } = createContext(command);
  const mappings = await compileLiveMappings(config, logger);
  const returning = await compileLiveMappings(config, logger, 'to-crm');
  // --table names a mapping of either direction; each direction's backfill gets its own.
  const chosen = selectMappings([...mappings, ...returning], flags.table);
  const selected = chosen.filter((mapping) => mapping.direction !== 'to-crm');
  const selectedBack = chosen.filter((mapping) => mapping.direction === 'to-crm');
  const stop = listenForStop({
    logger,
    stopping: 'stopping after the chunk being written commits',
  });
  const view = createProgressView({
    interactive: isInteractive(),
    stream: process.stderr,
    logger,
    mappings: chosen.map((mapping) => mapping.name),
  });
  try {
    const onlyBack = selected.length === 0 && selectedBack.length > 0;
    const summary = onlyBack
      ? []
      : await runBackfill({
          sourceUrl: config.sourceUrl,
          targetUrl: config.targetUrl,
          slot: config.slot,
          connectTimeoutMs: config.connectTimeoutMs,
          mappings,
          selected,
          chunkSize,
          restart: flags.restart === true,
          logger,
          view,
          signal: stop.signal,
        });
    const back =
      selectedBack.length === 0
        ? []
        : await backfillToCrm({
            crmUrl: config.sourceUrl,
            mesUrl: config.targetUrl,
            stream: config.slot,
            connectTimeoutMs: config.connectTimeoutMs,
            selected: selectedBack,
            chunkSize,
            restart: flags.restart === true,
            logger,
            view,
            signal: stop.signal,
          });
    view.close();
    print(formatSummary([...summary, ...back]));
  } finally {
    view.close();
    stop.dispose();
  }
}
