import type { Command } from 'commander';
import { commandOptions } from '../../config/options.js';
import { redact } from '../../config/redact.js';
import { createContext } from '../context.js';

export function registerMigrate(program: Command): void {
  const spec = commandOptions.migrations;
  program
    .command('migrate')
    .summary('create the MES database, control tables and staging tables')
    .description(
      "Create the MES database if it is missing, run millrace's own control-table migrations " +
        '(shipped in the package), then your staging-table knex migrations. Safe to run again: ' +
        'only what is missing is applied.',
    )
    .option(spec.flag, `${spec.description} [env ${spec.env}, default ${spec.default}]`)
    .addHelpText(
      'after',
      '\nExamples:\n  millrace migrate\n  millrace migrate --target mysql://root@mes-db:3306/mes --migrations ./migrations',
    )
    .action(async (_options, command: Command) => {
      const { config, logger, print } = createContext(command);
      // knex loads only for this command: every other command starts faster without it.
      const { migrateTarget } = await import('../../mysql/migrate.js');
      const result = await migrateTarget({
        targetUrl: config.targetUrl,
        migrationsDir: config.migrationsDir,
        connectTimeoutMs: config.connectTimeoutMs,
        logger,
      });
      const lines = [
        result.databaseCreated
          ? `created database ${result.database}`
          : `database ${result.database} exists (${redact(config.targetUrl)})`,
        result.control.length > 0
          ? `applied control migrations: ${result.control.join(', ')}`
          : 'control tables up to date',
        !result.stagingDirFound
          ? `no staging migrations: ${config.migrationsDir} does not exist`
          : result.staging.length > 0
            ? `applied staging migrations: ${result.staging.join(', ')}`
            : 'staging tables up to date',
      ];
      print(lines.join('\n'));
    });
}
