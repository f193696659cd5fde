import { existsSync } from 'node:fs';
import path from 'node:path';
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
  // The return path (MES → CRM) keeps its staging migrations in crm/ beside the MES's; their
  // presence is what asks for the CRM's control tables.
  const crmDir = path.join(config.migrationsDir, 'crm');
  if (existsSync(crmDir)) {
    const { migrateCrm } = await import('../../postgres/sink/migrate-crm.js');
    const crm = await migrateCrm({
      sourceUrl: config.sourceUrl,
      migrationsDir: crmDir,
      connectTimeoutMs: config.connectTimeoutMs,
      logger,
    });
    lines.push(
      crm.control.length > 0
        ? `applied CRM control migrations: ${crm.control.join(', ')}`
        : `CRM control tables up to date (${redact(config.sourceUrl)})`,
      crm.staging.length > 0
        ? `applied CRM staging migrations: ${crm.staging.join(', ')}`
        : 'CRM staging tables up to date',
    );
  }
  print(lines.join('\n'));
}
