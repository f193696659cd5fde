import type { Command } from 'commander';
import { createProgressView, formatSummary } from '../../backfill/backfill-progress.js';
import { runBackfill } from '../../backfill/run-backfill.js';
import { isInteractive } from '../../config/resolve-config.js';
import { UsageError } from '../../errors/millrace-error.js';
import { selectMappings } from '../../mapping/mapping-index.js';
import { listenForStop } from '../../util/stop-signal.js';
import { createContext } from '../context.js';
import { compileLiveMappings } from '../live-mappings.js';

/** Largest accepted --chunk-size: a chunk's rows are held in memory (twice, while one is written). */
const maxChunkSize = 1_000_000;

interface BackfillFlags {
  readonly table: string[];
  readonly chunkSize: string;
  readonly restart?: boolean;
}

/** Parses --chunk-size: a whole number of rows, 1 to 1,000,000. */
function parseChunkSize(text: string): number {
  const value = Number(text);
  if (
    !/^\s*\d+\s*$/.test(text) ||
    !Number.isSafeInteger(value) ||
    value < 1 ||
    value > maxChunkSize
  ) {
    throw new UsageError(
      'USAGE',
      `invalid --chunk-size: expected a whole number of rows from 1 to ${maxChunkSize} (got '${text}')`,
    );
  }
  return value;
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .summary('copy existing rows into the MES staging tables (resumable; safe while run runs)')
    .description(
      'Copy the rows that exist in the CRM through the mappings into the MES staging tables, in\n' +
        'primary-key order, one target transaction per chunk together with its progress in\n' +
        'millrace_backfills: a killed backfill resumes from its last committed chunk (--restart starts\n' +
        'over). Run it after `millrace setup` and before `millrace run`: run then replays every change\n' +
        'made since the slot was created, so the target converges to the exact source state.\n' +
        'While a replicator runs on the slot, the backfill is performed by it, in-stream between\n' +
        'watermarks, so a chunk never overwrites a newer streamed change; this command follows it.\n' +
        'Backfilling a mapping again also removes target rows the source no longer has (delete or\n' +
        'soft delete as the mapping says; onDelete: ignore keeps them).',
    )
    .option(
      '--table <name>',
      'only this mapping: its name, source table or target table (repeatable; default: every mapping)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option('--chunk-size <rows>', 'source rows per chunk, each one target transaction', '10000')
    .option('--restart', 'start over instead of resuming an interrupted backfill')
    .addHelpText(
      'after',
      `
Examples:
  millrace setup && millrace backfill && millrace run
  millrace backfill --table production_orders --table stg_customer
  millrace backfill --table public.sale_order --restart --chunk-size 50000
  millrace backfill --table production_orders     # while run runs: performed in-stream`,
    )
    .action(async (flags: BackfillFlags, command: Command) => {
      const chunkSize = parseChunkSize(flags.chunkSize);
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
    });
}
