import type { Command } from 'commander';
import { redact } from '../../config/redact.js';
import { createContext } from '../context.js';

export async function executeMigrate(_options: unknown, command: Command): Promise<void> {
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
}
