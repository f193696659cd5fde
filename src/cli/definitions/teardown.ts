import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerTeardown(program: Command): void {
  program
    .command('teardown')
    .summary('drop the replication slot, publication and return-path origin (needs --yes)')
    .description(
      'Drop the replication slot and the publication on the CRM, so the CRM stops keeping WAL for ' +
        'millrace, and what the return path (to-crm) made there: its replication origin ' +
        '(millrace_<slot>) and its checkpoint row in millrace.checkpoints, when they exist. Without ' +
        '--yes nothing is dropped: it prints what would be, and exits 2. A slot in use by a running ' +
        'replicator is refused (exit 3) with the PID holding it, and so is a running return stream. ' +
        'The checkpoint and the staging tables on the MES are left alone; after a new setup, run ' +
        'backfill --restart to pick up changes made in between.',
    )
    .option('--yes', 'really drop them')
    .addHelpText(
      'after',
      '\nExamples:\n  millrace teardown                 # show what would be dropped\n' +
        '  millrace teardown --yes --slot millrace_plant1 --publication millrace_plant1',
    )
    .action(lazyAction(async () => (await import('../commands/teardown.js')).executeTeardown));
}
