import type { Command } from 'commander';
import { lazyAction } from '../lazy-action.js';

export function registerSetup(program: Command): void {
  program
    .command('setup')
    .summary('create the publication and replication slot on the CRM (idempotent)')
    .description(
      'Check that the CRM can replicate (wal_level = logical; the role has REPLICATION and SELECT on ' +
        'every mapped table; each mapped table has a replica identity that carries UPDATEs and DELETEs), ' +
        'then create the publication over the mapped source tables and the pgoutput replication slot. ' +
        'Safe to run again: an existing publication gets newly mapped tables added, an existing slot ' +
        'is kept. A partitioned table is published through its root (publish_via_partition_root), so ' +
        'a mapping names the parent table.',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  millrace setup\n' +
        '  millrace setup --source postgres://millrace@crm-db:5432/crm --mappings ./mappings --slot millrace_plant1',
    )
    .action(lazyAction(async () => (await import('../commands/setup.js')).executeSetup));
}
