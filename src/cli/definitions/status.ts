import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .summary('slot, retained WAL, checkpoint, lag, per-mapping counts')
    .description(
      'Show where replication stands: the slot (active or not, confirmed and restart LSN, WAL it ' +
        'retains, wal_status), the publication, the checkpoint on the MES and how far it lags the CRM ' +
        '(bytes of WAL and seconds since it was written), and per mapping the target row count and ' +
        'dead letters. A missing slot or missing control tables is reported, not an error.',
    )
    .option('--json', 'print one JSON object instead of text')
    .addHelpText(
      'after',
      '\nExamples:\n  millrace status\n  millrace status --json --slot millrace_plant1 | jq .checkpoint.lagBytes',
    )
    .action(lazyAction(async () => (await import('../commands/status.js')).executeStatus));
}
