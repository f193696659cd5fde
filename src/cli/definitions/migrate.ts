import type { Command } from 'commander';
import { commandOptions } from '../../config/options.js';
import { addConfigOption } from '../common-options.js';
import { lazyAction } from '../lazy-action.js';

export function registerMigrate(program: Command): void {
  const command = program
    .command('migrate')
    .summary('create the MES database, control tables and staging tables')
    .description(
      "Create the MES database if it is missing, run millrace's own control-table migrations " +
        '(shipped in the package), then your staging-table knex migrations. Safe to run again: ' +
        'only what is missing is applied.',
    );
  addConfigOption(command, commandOptions.migrations)
    .addHelpText(
      'after',
      '\nExamples:\n  millrace migrate\n  millrace migrate --target mysql://root@mes-db:3306/mes --migrations ./migrations',
    )
    .action(lazyAction(async () => (await import('../commands/migrate.js')).executeMigrate));
}
