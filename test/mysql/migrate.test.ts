import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../src/errors/millrace-error.js';
import { silentLogger } from '../../src/log/logger.js';
import {
  controlMigrationSource,
  controlMigrationsTable,
} from '../../src/mysql/control-migrations.js';
import { createTargetKnex, type MigrateResult, migrateTarget } from '../../src/mysql/migrate.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

const controlTables = [
  'millrace_audit_runs',
  'millrace_backfills',
  'millrace_checkpoints',
  'millrace_dead_letters',
  'millrace_repairs',
] as const;

/** name, type (integer display widths dropped: MariaDB shows them, MySQL 8 does not), nullable. */
type ColumnShape = readonly [name: string, type: string, nullable: boolean];

/** The control tables of the README (`millrace migrate`), as columns. */
const expectedColumns: Record<(typeof controlTables)[number], readonly ColumnShape[]> = {
  millrace_checkpoints: [
    ['slot_name', 'varchar(64)', false],
    ['lsn', 'bigint unsigned', false],
    ['lsn_text', 'varchar(24)', false],
    ['updated_at', 'datetime(6)', false],
  ],
  millrace_backfills: [
    ['mapping_name', 'varchar(191)', false],
    ['status', 'varchar(16)', false],
    ['last_key', 'text', true],
    ['rows_copied', 'bigint unsigned', false],
    ['rows_total', 'bigint unsigned', true],
    ['snapshot_lsn', 'varchar(24)', true],
    ['started_at', 'datetime(6)', false],
    ['updated_at', 'datetime(6)', false],
    ['finished_at', 'datetime(6)', true],
    ['run_id', 'varchar(36)', true],
    ['mode', 'varchar(16)', true],
    ['phase', 'varchar(16)', false],
    ['chunk_size', 'int unsigned', true],
    ['rows_read', 'bigint unsigned', false],
    ['rows_removed', 'bigint unsigned', false],
    ['dead_letters', 'bigint unsigned', false],
    ['prune', 'tinyint(1)', false],
    ['prune_key', 'text', true],
    ['error', 'text', true],
  ],
  millrace_dead_letters: [
    ['id', 'bigint unsigned', false],
    ['mapping_name', 'varchar(191)', false],
    ['lsn', 'bigint unsigned', true],
    ['lsn_text', 'varchar(24)', true],
    ['operation', 'varchar(16)', false],
    ['key_values', 'mediumtext', false],
    ['source_values', 'longtext', false],
    ['error', 'text', false],
    ['created_at', 'datetime(6)', false],
  ],
  millrace_audit_runs: [
    ['id', 'bigint unsigned', false],
    ['started_at', 'datetime(6)', false],
    ['finished_at', 'datetime(6)', false],
    ['consistent', 'tinyint(1)', false],
    ['read_lsn', 'varchar(24)', true],
    ['report', 'longtext', false],
  ],
  millrace_repairs: [
    ['id', 'bigint unsigned', false],
    ['mapping_name', 'varchar(191)', false],
    ['status', 'varchar(16)', false],
    ['target_keys', 'longtext', false],
    ['rows_copied', 'bigint unsigned', false],
    ['rows_removed', 'bigint unsigned', false],
    ['dead_letters', 'bigint unsigned', false],
    ['error', 'text', true],
    ['created_at', 'datetime(6)', false],
    ['updated_at', 'datetime(6)', false],
  ],
};

const expectedPrimaryKeys: Record<(typeof controlTables)[number], readonly string[]> = {
  millrace_checkpoints: ['slot_name'],
  millrace_backfills: ['mapping_name'],
  millrace_dead_letters: ['id'],
  millrace_audit_runs: ['id'],
  millrace_repairs: ['id'],
};

function normalizeType(type: string): string {
  return type.replace(/^(smallint|mediumint|int|bigint)\(\d+\)/, '$1');
}

async function rowsOf<T>(
  conn: mysql.Connection,
  sql: string,
  params: readonly unknown[],
): Promise<T[]> {
  const [rows] = await conn.query(sql, [...params]);
  return rows as T[];
}

interface ColumnRow {
  table: string;
  name: string;
  position: number;
  type: string;
  nullable: string;
  defaultValue: string | null;
  charset: string | null;
  collation: string | null;
  columnKey: string;
  extra: string;
}

async function columnsOf(
  conn: mysql.Connection,
  database: string,
  tables: readonly string[],
): Promise<ColumnRow[]> {
  // Aliases throughout: MySQL 8 returns information_schema names in upper case, MariaDB not.
  return rowsOf<ColumnRow>(
    conn,
    `SELECT table_name AS \`table\`, column_name AS name, ordinal_position AS position,
            column_type AS type, is_nullable AS nullable, column_default AS defaultValue,
            character_set_name AS charset, collation_name AS collation,
            column_key AS columnKey, extra
       FROM information_schema.columns
      WHERE table_schema = ? AND table_name IN (?)
      ORDER BY table_name, ordinal_position`,
    [database, tables],
  );
}

interface IndexRow {
  table: string;
  name: string;
  nonUnique: string;
  seq: number;
  column: string;
}

async function indexesOf(
  conn: mysql.Connection,
  database: string,
  tables: readonly string[],
): Promise<IndexRow[]> {
  return rowsOf<IndexRow>(
    conn,
    `SELECT table_name AS \`table\`, index_name AS name, non_unique AS nonUnique,
            seq_in_index AS seq, column_name AS \`column\`
       FROM information_schema.statistics
      WHERE table_schema = ? AND table_name IN (?)
      ORDER BY table_name, index_name, seq_in_index`,
    [database, tables],
  );
}

interface TableRow {
  table: string;
  engine: string;
  collation: string;
}

async function tablesOf(
  conn: mysql.Connection,
  database: string,
  tables: readonly string[],
): Promise<TableRow[]> {
  return rowsOf<TableRow>(
    conn,
    `SELECT table_name AS \`table\`, engine, table_collation AS collation
       FROM information_schema.tables
      WHERE table_schema = ? AND table_name IN (?)
      ORDER BY table_name`,
    [database, tables],
  );
}

/** Everything information_schema says about the control tables' shape. */
async function schemaSnapshot(conn: mysql.Connection, database: string) {
  return {
    tables: await tablesOf(conn, database, controlTables),
    columns: await columnsOf(conn, database, controlTables),
    indexes: await indexesOf(conn, database, controlTables),
  };
}

/** A new database name under the prefix and timestamp that the test sweep recognises. */
function freshDatabaseName(label: string): string {
  return `mrt_${Math.floor(Date.now() / 1000)}_${label}_${randomBytes(3).toString('hex')}`;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

const stagingMigrations: Readonly<Record<string, string>> = {
  '20240101000000_create_stg_production_order.mjs': `
export async function up(knex) {
  await knex.schema.createTable('stg_production_order', (table) => {
    table.bigInteger('crm_order_id').primary();
    table.string('order_ref', 64).notNullable();
  });
}
export async function down(knex) {
  await knex.schema.dropTable('stg_production_order');
}
`,
  '20240102000000_add_state.mjs': `
export async function up(knex) {
  await knex.schema.alterTable('stg_production_order', (table) => {
    table.string('state', 16).notNullable().defaultTo('PLANNED');
  });
}
export async function down(knex) {
  await knex.schema.alterTable('stg_production_order', (table) => {
    table.dropColumn('state');
  });
}
`,
};

describe('migrateTarget', () => {
  let db: TestDatabases;
  let workDir: string;
  let first: MigrateResult;
  const createdDatabases: string[] = [];

  const migrate = (
    overrides: { targetUrl?: string; migrationsDir?: string; connectTimeoutMs?: number } = {},
  ) =>
    migrateTarget({
      targetUrl: overrides.targetUrl ?? db.mesUrl,
      migrationsDir: overrides.migrationsDir ?? path.join(workDir, 'no-such-dir'),
      connectTimeoutMs: overrides.connectTimeoutMs ?? 5_000,
      logger: silentLogger(),
    });

  beforeAll(async () => {
    db = await createTestDatabases('migrate');
    workDir = await mkdtemp(path.join(tmpdir(), 'millrace-migrate-'));
    first = await migrate();
  });

  afterAll(async () => {
    try {
      for (const name of createdDatabases) {
        await db?.mysql.query(`DROP DATABASE IF EXISTS \`${name}\``);
      }
    } finally {
      await db?.drop();
      if (workDir) await rm(workDir, { recursive: true, force: true });
    }
  });

  it('applies the control migration on a fresh database and reports what it did', () => {
    expect(first).toEqual({
      database: db.mesName,
      databaseCreated: false,
      control: ['0001_control_tables', '0002_repair_requests'],
      staging: [],
      stagingDirFound: false,
    });
  });

  it('creates the four control tables with their columns', async () => {
    const columns = await columnsOf(db.mysql, db.mesName, controlTables);
    for (const table of controlTables) {
      const actual = columns
        .filter((column) => column.table === table)
        .map(
          (column): ColumnShape => [
            column.name,
            normalizeType(String(column.type)),
            column.nullable === 'YES',
          ],
        );
      expect(actual, table).toEqual(expectedColumns[table]);
    }
  });

  it('gives them primary keys, InnoDB and utf8mb4', async () => {
    const primary = await rowsOf<{ table: string; column: string }>(
      db.mysql,
      `SELECT table_name AS \`table\`, column_name AS \`column\`
         FROM information_schema.key_column_usage
        WHERE table_schema = ? AND constraint_name = 'PRIMARY' AND table_name IN (?)
        ORDER BY table_name, ordinal_position`,
      [db.mesName, controlTables],
    );
    for (const table of controlTables) {
      expect(
        primary.filter((row) => row.table === table).map((row) => row.column),
        table,
      ).toEqual(expectedPrimaryKeys[table]);
    }

    const tables = await tablesOf(db.mysql, db.mesName, controlTables);
    expect(tables.map((row) => row.table)).toEqual([...controlTables]);
    for (const row of tables) {
      expect(row.engine, row.table).toBe('InnoDB');
      expect(row.collation, row.table).toMatch(/^utf8mb4_/);
    }
    const columns = await columnsOf(db.mysql, db.mesName, controlTables);
    const textual = columns.filter((column) => column.charset !== null);
    expect(textual.length).toBeGreaterThan(10);
    for (const column of textual)
      expect(column.charset, `${column.table}.${column.name}`).toBe('utf8mb4');
  });

  it('keeps its own migration history apart from the staging one', async () => {
    const names = await rowsOf<{ name: string }>(
      db.mysql,
      `SELECT name FROM ${controlMigrationsTable} ORDER BY id`,
      [],
    );
    expect(names.map((row) => row.name)).toEqual(['0001_control_tables', '0002_repair_requests']);
  });

  it('applies nothing the second time', async () => {
    const before = await schemaSnapshot(db.mysql, db.mesName);
    expect(await migrate()).toEqual({
      database: db.mesName,
      databaseCreated: false,
      control: [],
      staging: [],
      stagingDirFound: false,
    });
    expect(await schemaSnapshot(db.mysql, db.mesName)).toEqual(before);
  });

  it('runs the staging migrations of a directory of .mjs knex migrations, once', async () => {
    const dir = path.join(workDir, 'staging');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir);
    for (const [name, text] of Object.entries(stagingMigrations)) {
      await writeFile(path.join(dir, name), text);
    }

    const applied = await migrate({ migrationsDir: dir });
    expect(applied.control).toEqual([]);
    expect(applied.stagingDirFound).toBe(true);
    expect(applied.staging).toEqual(Object.keys(stagingMigrations));

    const columns = await columnsOf(db.mysql, db.mesName, ['stg_production_order']);
    expect(columns.map((column) => column.name)).toEqual(['crm_order_id', 'order_ref', 'state']);

    const again = await migrate({ migrationsDir: dir });
    expect(again.staging).toEqual([]);
    expect(again.stagingDirFound).toBe(true);
  });

  it('creates the MES database when it is missing, in utf8mb4', async () => {
    const name = freshDatabaseName('migrate_new');
    createdDatabases.push(name);
    const url = withDatabase(db.mesUrl, name);

    const created = await migrate({ targetUrl: url });
    expect(created).toMatchObject({
      database: name,
      databaseCreated: true,
      control: ['0001_control_tables', '0002_repair_requests'],
    });
    const [schema] = await rowsOf<{ charset: string }>(
      db.mysql,
      'SELECT default_character_set_name AS charset FROM information_schema.schemata WHERE schema_name = ?',
      [name],
    );
    expect(schema?.charset).toBe('utf8mb4');
    const tables = await tablesOf(db.mysql, name, controlTables);
    expect(tables.map((row) => row.table)).toEqual([...controlTables]);

    expect(await migrate({ targetUrl: url })).toMatchObject({
      databaseCreated: false,
      control: [],
    });
  });

  it('fails with exit code 3 and a redacted URL when the MES cannot be reached', async () => {
    const url = 'mysql://root:s3cret@127.0.0.1:1/mes';
    const failure = await migrate({ targetUrl: url, connectTimeoutMs: 300 }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(RuntimeFailure);
    const error = failure as RuntimeFailure;
    expect(error.exitCode).toBe(3);
    expect(error.code).toBe('TARGET_UNREACHABLE');
    expect(error.message).toContain('mysql://root:***@127.0.0.1:1/mes');
    expect(error.message).not.toContain('s3cret');
  });

  it('migrates control tables up, down and up again to the same schema', async () => {
    const before = await schemaSnapshot(db.mysql, db.mesName);
    expect(before.tables).toHaveLength(5);
    const knex = createTargetKnex(db.mesUrl);
    const config = { migrationSource: controlMigrationSource, tableName: controlMigrationsTable };
    try {
      const [, rolledBack] = await knex.migrate.rollback(config, true);
      expect(rolledBack).toEqual(['0002_repair_requests', '0001_control_tables']);
      const afterDown = await schemaSnapshot(db.mysql, db.mesName);
      expect(afterDown).toEqual({ tables: [], columns: [], indexes: [] });

      const [, applied] = await knex.migrate.latest(config);
      expect(applied).toEqual(['0001_control_tables', '0002_repair_requests']);
    } finally {
      await knex.destroy();
    }
    expect(await schemaSnapshot(db.mysql, db.mesName)).toEqual(before);
  });
});
