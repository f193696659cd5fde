import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .summary('copy existing rows into the MES staging tables (resumable; safe while run runs)')
    .description(
      'Copy the rows that exist in the CRM through the mappings into the MES staging tables, in ' +
        'primary-key order, one target transaction per chunk together with its progress in ' +
        'millrace_backfills: a killed backfill resumes from its last committed chunk (--restart starts ' +
        'over). Run it after `millrace setup` and before `millrace run`: run then replays every change ' +
        'made since the slot was created, so the target converges to the exact source state. ' +
        'While a replicator runs on the slot, the backfill is performed by it, in-stream between ' +
        'watermarks, so a chunk never overwrites a newer streamed change; this command follows it. ' +
        'Backfilling a mapping again also removes target rows the source no longer has (delete or ' +
        'soft delete as the mapping says; onDelete: ignore keeps them). ' +
        'A `direction: to-crm` mapping is copied the other way, MES table into the CRM, in chunks ' +
        "checked against the return stream's checkpoint (progress in millrace.backfill_progress on " +
        'the CRM), whether or not `run` is running.',
    )
    .option(
      '--table <name>',
      'only this mapping: its name, source table or target table (repeatable; default: every mapping)',
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option(
      '--chunk-size <rows>',
      'source rows per chunk, each one target transaction (in-stream: at most 10000)',
      '50000',
    )
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
    .action(lazyAction(async () => (await import('../commands/backfill.js')).executeBackfill));
}
