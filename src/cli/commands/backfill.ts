import type { Command } from 'commander';
import { createProgressView, formatSummary } from '../../backfill/backfill-progress.js';
import { runBackfill } from '../../backfill/run-backfill.js';
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
  const selected = selectMappings(mappings, flags.table);
  const stop = listenForStop({
    logger,
    stopping: 'stopping after the chunk being written commits',
  });
  const view = createProgressView({
    interactive: isInteractive(),
    stream: process.stderr,
    logger,
    mappings: selected.map((mapping) => mapping.name),
  });
  try {
    const summary = await runBackfill({
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
    view.close();
    print(formatSummary(summary));
  } finally {
    view.close();
    stop.dispose();
  }
}
