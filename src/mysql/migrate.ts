import { existsSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Logger } from '../log/logger.js';
import { runMigrations } from '../util/run-migrations.js';
import { controlMigrationSource, controlMigrationsTable } from './control-migrations.js';
import { connectTarget, parseTargetUrl, quoteMysqlIdent } from './mysql-client.js';

export interface MigrateOptions {
  readonly targetUrl: string;
  /** Directory of the user's staging-table migrations; skipped when it does not exist. */
  readonly migrationsDir: string;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
}

export interface MigrateResult {
  readonly database: string;
  readonly databaseCreated: boolean;
  readonly control: readonly string[];
  readonly staging: readonly string[];
  readonly stagingDirFound: boolean;
}

/** Creates the MES database when missing: migrations need it to exist. */
async function ensureDatabase(options: MigrateOptions, database: string): Promise<boolean> {
  const conn = await connectTarget({
    url: options.targetUrl,
    timeoutMs: options.connectTimeoutMs,
    logger: options.logger,
    withoutDatabase: true,
  });
  try {
    const [rows] = await conn.query(
      'SELECT 1 FROM information_schema.schemata WHERE schema_name = ?',
      [database],
    );
    if ((rows as unknown[]).length > 0) return false;
    await conn.query(
      `CREATE DATABASE IF NOT EXISTS ${quoteMysqlIdent(database)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    return true;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

export function createTargetKnex(targetUrl: string): Knex {
  const { database, options } = parseTargetUrl(targetUrl);
  return knexFactory({
    client: 'mysql2',
    connection: { ...options, database } as Knex.MySql2ConnectionConfig,
    pool: { min: 0, max: 2 },
  });
}

/**
 * `millrace migrate`: the database if missing, millrace's control tables, then the user's
 * staging tables. Each step is idempotent; the result lists what this run applied.
 */
export async function migrateTarget(options: MigrateOptions): Promise<MigrateResult> {
  const { database } = parseTargetUrl(options.targetUrl);
  const databaseCreated = await ensureDatabase(options, database);
  const knex = createTargetKnex(options.targetUrl);
  try {
    const control = await runMigrations('control-table', () =>
      knex.migrate.latest({
        migrationSource: controlMigrationSource,
        tableName: controlMigrationsTable,
      }),
    );
    const stagingDir = path.resolve(options.migrationsDir);
    const stagingDirFound = existsSync(stagingDir);
    const staging = stagingDirFound
      ? await runMigrations('staging-table', () =>
          knex.migrate.latest({ directory: stagingDir, loadExtensions: ['.js', '.mjs', '.cjs'] }),
        )
      : [];
    return { database, databaseCreated, control, staging, stagingDirFound };
  } finally {
    await knex.destroy();
  }
}
