import { silentLogger } from '../../src/log/logger.js';
import { migrateTarget } from '../../src/mysql/migrate.js';
import type { TestDatabases } from './databases.js';

/** Runs millrace's control-table migrations on a MES database, and no staging migrations. */
export async function migrateControlTables(mesUrl: string): Promise<void> {
  await migrateTarget({
    targetUrl: mesUrl,
    migrationsDir: '/nonexistent',
    connectTimeoutMs: 5_000,
    logger: silentLogger(),
  });
}

/** A test's own tables: `crm` (one SQL script) on the CRM, control tables and `mes` on the MES. */
export async function createSchemas(
  dbs: TestDatabases,
  crm: string,
  mes: readonly string[],
): Promise<void> {
  await dbs.pg.query(crm);
  await migrateControlTables(dbs.mesUrl);
  for (const sql of mes) await dbs.mysql.query(sql);
}

/** The rows a query returns on each side, for a test to compare. */
export async function sourceAndTarget(
  dbs: TestDatabases,
  sourceSql: string,
  targetSql: string,
): Promise<{ expected: unknown[]; actual: unknown[] }> {
  const wanted = await dbs.pg.query(sourceSql);
  const [rows] = await dbs.mysql.query(targetSql);
  return { expected: wanted.rows, actual: rows as unknown[] };
}
