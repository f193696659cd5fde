import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusReport } from '../../src/cli/status-report.js';
import { writeCheckpoint } from '../../src/mysql/sql/checkpoint.js';
import { parseLsn } from '../../src/util/lsn.js';
import { type CliResult, cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * `setup`, `status` and `teardown` through the built CLI (run `npm run build` first), against a
 * fresh CRM/MES pair. The steps build on each other, in order: before setup, setup, again,
 * a new mapping, a refused one, status with a checkpoint, teardown without and with --yes.
 */

let db: TestDatabases;
let mappingsDir: string;
// Slots are cluster-wide: other suites on this server must never see this name.
const slot = `mrt_cli_${randomBytes(4).toString('hex')}`;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return cliEnv({
    CRM_DATABASE_URL: db.crmUrl,
    MES_DATABASE_URL: db.mesUrl,
    MILLRACE_MAPPINGS: mappingsDir,
    MILLRACE_SLOT: slot,
    MILLRACE_CONNECT_TIMEOUT: '5',
    ...extra,
  });
}

async function writeMapping(file: string, yaml: string): Promise<void> {
  await writeFile(path.join(mappingsDir, file), yaml);
}

async function publishedTables(): Promise<string[]> {
  const result = await db.pg.query(
    "SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = 'millrace' ORDER BY 1",
  );
  return result.rows.map((row) => row.name as string);
}

async function slotRow(): Promise<{ plugin: string; database: string } | undefined> {
  const result = await db.pg.query(
    'SELECT plugin, database FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  return result.rows[0];
}

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((line) => line.trim() !== '');
}

function expectOk(result: CliResult): void {
  expect(result.stderr, result.stderr).toBe('');
  expect(result.code).toBe(0);
}

function statusOf(result: CliResult): StatusReport {
  expectOk(result);
  return JSON.parse(result.stdout) as StatusReport;
}

beforeAll(async () => {
  db = await createTestDatabases('cli_setup_status');
  mappingsDir = await mkdtemp(path.join(tmpdir(), 'millrace-setup-'));
  await db.pg.query(`
    CREATE TABLE orders (id int PRIMARY KEY, ref text);
    CREATE TABLE lines (id int PRIMARY KEY, order_id int);
    CREATE TABLE notes (id int PRIMARY KEY, body text);
    ALTER TABLE notes REPLICA IDENTITY NOTHING;
    CREATE TABLE events (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
    CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
  `);
  await db.mysql.query('CREATE TABLE stg_orders (id INT PRIMARY KEY, ref VARCHAR(100))');
  await db.mysql.query('CREATE TABLE stg_events (id INT, at DATE, PRIMARY KEY (id, at))');
  await writeMapping(
    'events.yaml',
    'source: public.events\ntarget: stg_events\nkey: { id: id, at: at }\n',
  );
  await writeMapping(
    'orders.yaml',
    'source: public.orders\ntarget: stg_orders\nkey:\n  id: id\ncolumns:\n  ref: ref\n',
  );
});

afterAll(async () => {
  try {
    await db?.drop(); // drops the slot too, whatever a failed step left
  } finally {
    if (mappingsDir) await rm(mappingsDir, { recursive: true, force: true });
  }
});

describe.sequential('setup, status and teardown', () => {
  it('status before setup and migrate reports what is missing, exit 0', async () => {
    const report = statusOf(await runCli(['status', '--json'], env()));
    expect(report.slot).toEqual({ name: slot, exists: false });
    expect(report.publication).toEqual({ name: 'millrace', exists: false });
    expect(report.controlTables).toBe(false);
    expect(report.checkpoint).toBeNull();
    expect(report.deadLettersTotal).toBeNull();
    expect(report.mappings).toEqual([
      {
        name: 'events',
        source: 'public.events',
        target: 'stg_events',
        targetRows: 0,
        deadLetters: null,
      },
      {
        name: 'orders',
        source: 'public.orders',
        target: 'stg_orders',
        targetRows: 0,
        deadLetters: null,
      },
    ]);
    expect(report.warnings).toContain(
      `replication slot ${slot} does not exist: run millrace setup`,
    );
    expect(report.warnings.join('\n')).toMatch(
      /control tables .* missing on the MES: run millrace migrate/,
    );

    const text = await runCli(['status'], env());
    expectOk(text);
    expect(text.stdout).toContain(`slot ${slot}: missing`);
    expect(text.stdout).toContain('publication millrace: missing');
    expect(text.stdout).toContain('control tables: missing');
  });

  it('setup creates the publication (partitioned table via its root) and the pgoutput slot', async () => {
    const result = await runCli(['setup'], env());
    expectOk(result);
    expect(result.stdout).toContain('wal_level is logical');
    expect(result.stdout).toContain(
      'created publication millrace for public.events, public.orders',
    );
    expect(result.stdout).toContain(
      'public.events is partitioned (2 partitions): published through its root',
    );
    expect(result.stdout).toMatch(
      new RegExp(`created replication slot ${slot} \\(pgoutput\\) at [0-9A-F]+/[0-9A-F]+`),
    );
    expect(await publishedTables()).toEqual(['public.events', 'public.orders']);
    expect(await slotRow()).toEqual({ plugin: 'pgoutput', database: db.crmName });
  });

  it('a second setup changes nothing', async () => {
    const before = await db.pg.query(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [slot],
    );
    const result = await runCli(['setup'], env());
    expectOk(result);
    expect(result.stdout).toContain(
      'publication millrace already publishes public.events, public.orders',
    );
    expect(result.stdout).toContain(
      `replication slot ${slot} (pgoutput) exists, confirmed up to ${before.rows[0]?.lsn}`,
    );
    expect(result.stdout).not.toMatch(/created|added/);
    expect(await publishedTables()).toEqual(['public.events', 'public.orders']);
  });

  it('setup adds a newly mapped table to the publication', async () => {
    await writeMapping('lines.yaml', 'source: public.lines\ntarget: stg_lines\nkey: { id: id }\n');
    const result = await runCli(['setup'], env());
    expectOk(result);
    expect(result.stdout).toContain('added public.lines to publication millrace');
    expect(result.stdout).not.toContain('created');
    expect(await publishedTables()).toEqual(['public.events', 'public.lines', 'public.orders']);
  });

  it('setup refuses a table with REPLICA IDENTITY NOTHING: exit 2, one line naming it and the fix', async () => {
    await writeMapping('notes.yaml', 'source: public.notes\ntarget: stg_notes\nkey: { id: id }\n');
    try {
      const result = await runCli(['setup'], env());
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      const lines = nonEmptyLines(result.stderr);
      expect(lines, result.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(
        /^millrace: source table public\.notes has REPLICA IDENTITY NOTHING/,
      );
      expect(lines[0]).toContain('ALTER TABLE "public"."notes" REPLICA IDENTITY FULL');
      expect(await publishedTables()).not.toContain('public.notes');
    } finally {
      await rm(path.join(mappingsDir, 'notes.yaml'));
    }
  });

  it('status --json shows slot, checkpoint, lag, row counts and dead letters', async () => {
    const migrate = await runCli(
      ['migrate'],
      env({ MILLRACE_MIGRATIONS: path.join(mappingsDir, 'no-migrations') }),
    );
    expectOk(migrate);
    await db.mysql.query("INSERT INTO stg_orders VALUES (1, 'a'), (2, 'b'), (3, 'c')");
    const current = await db.pg.query('SELECT pg_current_wal_lsn()::text AS lsn');
    const lsnText = current.rows[0]?.lsn as string;
    const checkpoint = writeCheckpoint(slot, parseLsn(lsnText), lsnText);
    await db.mysql.query(checkpoint.sql, checkpoint.values as unknown[]);
    for (const mapping of ['orders', 'orders', 'removed_mapping']) {
      await db.mysql.query(
        `INSERT INTO millrace_dead_letters (mapping_name, operation, key_values, source_values, error, created_at)
         VALUES (?, 'insert', '{}', '{}', 'value too long', UTC_TIMESTAMP(6))`,
        [mapping],
      );
    }
    // Some WAL after the checkpoint, so the lag is not zero.
    await db.pg.query('INSERT INTO orders SELECT g, $1 FROM generate_series(1, 200) g', ['x']);

    const report = statusOf(await runCli(['status', '--json'], env()));
    expect(Object.keys(report).sort()).toEqual(
      [
        'checkpoint',
        'controlTables',
        'currentLsn',
        'deadLettersTotal',
        'mappings',
        'publication',
        'returnPath',
        'slot',
        'source',
        'target',
        'warnings',
      ].sort(),
    );
    expect(report.source).toBe(db.crmUrl);
    expect(report.currentLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(report.slot).toMatchObject({
      name: slot,
      exists: true,
      plugin: 'pgoutput',
      slotType: 'logical',
      database: db.crmName,
      inThisDatabase: true,
      active: false,
      activePid: null,
    });
    if (!report.slot.exists) throw new Error('slot missing');
    expect(report.slot.confirmedFlushLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(report.slot.restartLsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
    expect(report.slot.walStatus).toMatch(/^(reserved|extended)$/);
    expect(report.slot.retainedWalBytes).toBeGreaterThan(0);
    expect(report.slot.lagBytes).toBeGreaterThan(0);
    expect(report.publication).toEqual({
      name: 'millrace',
      exists: true,
      allTables: false,
      viaRoot: true,
      tables: ['public.events', 'public.lines', 'public.orders'],
    });
    expect(report.controlTables).toBe(true);
    expect(report.checkpoint?.lsn).toBe(lsnText);
    expect(report.checkpoint?.updatedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(report.checkpoint?.lagBytes).toBeGreaterThan(0);
    expect(report.checkpoint?.lagBytes).toBe(
      Number(parseLsn(report.currentLsn) - parseLsn(lsnText)),
    );
    expect(report.checkpoint?.lagSeconds).toBeGreaterThanOrEqual(0);
    expect(report.checkpoint?.lagSeconds).toBeLessThan(60);
    expect(report.mappings).toEqual([
      {
        name: 'events',
        source: 'public.events',
        target: 'stg_events',
        targetRows: 0,
        deadLetters: 0,
      },
      {
        name: 'lines',
        source: 'public.lines',
        target: 'stg_lines',
        targetRows: null,
        deadLetters: 0,
      },
      {
        name: 'orders',
        source: 'public.orders',
        target: 'stg_orders',
        targetRows: 3,
        deadLetters: 2,
      },
    ]);
    expect(report.deadLettersTotal).toBe(3);
    expect(report.warnings).toEqual([
      'target table stg_lines of mapping lines does not exist: create it in a staging migration and run millrace migrate',
    ]);

    const text = await runCli(['status'], env());
    expectOk(text);
    expect(text.stdout).toContain(`slot ${slot}: inactive, plugin pgoutput`);
    expect(text.stdout).toContain(`checkpoint ${lsnText} at `);
    expect(text.stdout).toMatch(/^\s+MAPPING\s+SOURCE\s+TARGET\s+ROWS\s+DEAD LETTERS$/m);
    expect(text.stdout).toMatch(/^\s+orders\s+public\.orders\s+stg_orders\s+3\s+2$/m);
    expect(text.stdout).toMatch(/^\s+lines\s+public\.lines\s+stg_lines\s+missing\s+0$/m);
    expect(text.stdout).toContain('warning: target table stg_lines');
  });

  it('teardown without --yes exits 2, lists what it would drop and drops nothing', async () => {
    const result = await runCli(['teardown'], env());
    expect(result.code).toBe(2);
    expect(result.stdout).toContain('teardown --yes would drop:');
    expect(result.stdout).toMatch(
      new RegExp(
        `replication slot ${slot} \\(pgoutput, confirmed up to [0-9A-F]+/[0-9A-F]+, idle\\)`,
      ),
    );
    expect(result.stdout).toContain(
      'publication millrace (public.events, public.lines, public.orders)',
    );
    const lines = nonEmptyLines(result.stderr);
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain('millrace teardown --yes');
    expect(await slotRow()).toBeDefined();
    expect(await publishedTables()).toHaveLength(3);
  });

  it('teardown --yes drops slot and publication, and again finds nothing to drop', async () => {
    const result = await runCli(['teardown', '--yes'], env());
    expectOk(result);
    expect(result.stdout).toContain(`dropped replication slot ${slot}`);
    expect(result.stdout).toContain('dropped publication millrace');
    expect(await slotRow()).toBeUndefined();
    expect(await publishedTables()).toEqual([]);
    const publication = await db.pg.query(
      "SELECT 1 FROM pg_publication WHERE pubname = 'millrace'",
    );
    expect(publication.rows).toHaveLength(0);

    const again = await runCli(['teardown', '--yes'], env());
    expectOk(again);
    expect(again.stdout).toContain(`no replication slot ${slot} (nothing to drop)`);
    expect(again.stdout).toContain('no publication millrace (nothing to drop)');
  });

  it('status after teardown reports the missing slot, exit 0', async () => {
    const report = statusOf(await runCli(['status', '--json'], env()));
    expect(report.slot).toEqual({ name: slot, exists: false });
    expect(report.publication).toEqual({ name: 'millrace', exists: false });
    // The checkpoint stays on the MES: teardown does not touch the target.
    expect(report.checkpoint).not.toBeNull();
    expect(report.warnings).toContain(
      `replication slot ${slot} does not exist: run millrace setup`,
    );
    expect(report.warnings).toContain('publication millrace does not exist: run millrace setup');
  });
});

describe.concurrent('help', () => {
  it.each([
    ['setup', /millrace setup --source \S+/],
    ['status', /millrace status --json/],
    ['teardown', /millrace teardown --yes/],
  ])('%s --help has a description and an example', async (command, example) => {
    const result = await runCli([command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toMatch(example);
  });

  it('lists the commands', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['setup', 'status', 'teardown'])
      expect(result.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, 'm'));
  });
});
