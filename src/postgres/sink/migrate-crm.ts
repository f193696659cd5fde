import { existsSync } from 'node:fs';
import path from 'node:path';
import knexFactory from 'knex';
import type { Logger } from '../../log/logger.js';
import { runMigrations } from '../../util/run-migrations.js';
import { connectSource, quotePgIdent } from '../pg-client.js';
import { controlSchema, crmControlMigrationSource } from './crm-control-migrations.js';

export interface MigrateCrmOptions {
  readonly sourceUrl: string;
  /** Directory of the user's CRM staging-table migrations; skipped when it does not exist. */
  readonly migrationsDir: string;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

export interface MigrateCrmResult {
  readonly schemaCreated: boolean;
  readonly control: readonly string[];
  readonly staging: readonly string[];
  readonly stagingDirFound: boolean;
}

/** Creates the `millrace` schema when missing (knex keeps its migrations tables there too). */
async function ensureSchema(options: MigrateCrmOptions): Promise<boolean> {
  const client = await connectSource({
    url: options.sourceUrl,
    timeoutMs: options.connectTimeoutMs,
    logger: options.logger,
  });
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
      controlSchema,
    ]);
    if (rows.length > 0) return false;
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${quotePgIdent(controlSchema)}`);
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * The return path's half of `millrace migrate`, on the CRM: the `millrace` schema, its control
 * tables (checkpoints, dead letters), then the user's CRM staging tables. Each step is
 * idempotent; the result lists what this run applied.
 */
export async function migrateCrm(options: MigrateCrmOptions): Promise<MigrateCrmResult> {
  const schemaCreated = await ensureSchema(options);
  const knex = knexFactory({
    client: 'pg',
    connection: options.sourceUrl,
    pool: { min: 0, max: 2 },
  });
  try {
    const control = await runMigrations('CRM control-table', () =>
      knex.migrate.latest({
        migrationSource: crmControlMigrationSource,
        schemaName: controlSchema,
        tableName: 'control_migrations',
      }),
    );
    const stagingDir = path.resolve(options.migrationsDir);
    const stagingDirFound = existsSync(stagingDir);
    const staging = stagingDirFound
      ? await runMigrations('CRM staging-table', () =>
          knex.migrate.latest({
            directory: stagingDir,
            loadExtensions: ['.js', '.mjs', '.cjs'],
            schemaName: controlSchema,
            tableName: 'staging_migrations',
          }),
        )
      : [];
    return { schemaCreated, control, staging, stagingDirFound };
  } finally {
    await knex.destroy();
  }
}
