import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  catchUp,
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitForReplicating,
  writeMappings,
} from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';

/**
 * `millrace dead-letters` on letters made on purpose: a staging column too narrow for some
 * labels, then widened, then the letters replayed.
 */
let dbs: TestDatabases;
let mappingsDir: string;
const slot = uniqueName('letters');

const mapping = `
name: items
source: public.item
target: stg_item
key: { item_id: id }
columns: { label: label, qty: qty }
`;

beforeAll(async () => {
  dbs = await createTestDatabases('cli_dead_letters');
  await createSchemas(
    dbs,
    `create table item (id integer primary key, label varchar(40) not null, qty integer);
     insert into item values (1, 'short', 1), (2, 'much too long', 2), (3, 'also too long', 3), (4, 'ok', 4);`,
    ['create table stg_item (item_id int primary key, label varchar(5) not null, qty int)'],
  );
  mappingsDir = writeMappings({ 'items.yaml': mapping });
}, 60_000);

afterAll(async () => {
  await dbs?.drop();
  if (mappingsDir) rmSync(mappingsDir, { recursive: true, force: true });
}, 60_000);

function millrace(args: readonly string[]): Promise<CliResult> {
  return runCli(
    args,
    cliEnv({
      CRM_DATABASE_URL: dbs.crmUrl,
      MES_DATABASE_URL: dbs.mesUrl,
      MILLRACE_MAPPINGS: mappingsDir,
      MILLRACE_SLOT: slot,
      MILLRACE_LOG_LEVEL: 'error',
    }),
  );
}

async function letters(): Promise<{ id: number; key_values: string; error: string }[]> {
  const [rows] = await dbs.mysql.query(
    'select id, key_values, error from millrace_dead_letters order by id',
  );
  return rows as { id: number; key_values: string; error: string }[];
}

async function bothSides(
  table = 'item',
  key = 'item_id',
): Promise<{ source: unknown[]; target: unknown[] }> {
  const { rows } = await dbs.pg.query(`select id, label, qty from ${table} order by id`);
  const [target] = await dbs.mysql.query(
    `select ${key} as id, label, qty from stg_${table} order by ${key}`,
  );
  const numbers = (row: Record<string, unknown>) => ({
    id: Number(row.id),
    label: row.label,
    qty: row.qty === null ? null : Number(row.qty),
  });
  return {
    source: rows.map(numbers),
    target: (target as Record<string, unknown>[]).map(numbers),
  };
}

describe('millrace dead-letters', () => {
  it('lists the letters a too-narrow column made, as text and as JSON', async () => {
    const backfill = await millrace(['backfill']);
    expect(backfill.code).toBe(0);
    expect((await letters()).map((letter) => JSON.parse(letter.key_values))).toEqual([
      { item_id: '2' },
      { item_id: '3' },
    ]);
    const list = await millrace(['dead-letters', 'list']);
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^#\d+ \S+ items backfill key item_id=2: .*longer than varchar\(5\)/);
    expect(lines.slice(-2)).toEqual(['items: 2 dead letters', '2 dead letters']);
    const json = await millrace(['dead-letters', 'list', '--json', '--table', 'stg_item']);
    const parsed = JSON.parse(json.stdout) as { total: number; counts: Record<string, number> };
    expect(parsed).toMatchObject({ total: 2, counts: { items: 2 } });
  }, 60_000);

  it('retry keeps a letter that fails again (exit 1), replays all once the column is widened', async () => {
    const failing = await millrace(['dead-letters', 'retry', '--table', 'items']);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toContain('0 replayed and deleted, 2 failed again');
    expect(await letters()).toHaveLength(2);

    await dbs.mysql.query('alter table stg_item modify label varchar(40) not null');
    // The retry writes the row as it is now, not as it was when it failed.
    await dbs.pg.query(`update item set label = 'changed since', qty = 30 where id = 3`);
    const retry = await millrace(['dead-letters', 'retry']);
    expect(retry.stderr).toBe('');
    expect(retry.stdout).toContain('2 replayed and deleted, 0 failed again');
    expect(retry.code).toBe(0);
    expect(await letters()).toEqual([]);
    const { source, target } = await bothSides();
    expect(target).toEqual(source);
  }, 60_000);

  it('retry removes the target row of a letter whose source row is gone, and selects by --id', async () => {
    await dbs.mysql.query(`insert into stg_item values (9, 'stale', 9), (10, 'stale', 10)`);
    await dbs.mysql.query(
      `insert into millrace_dead_letters (mapping_name, operation, key_values, source_values, error, created_at)
       values ('items', 'update', '{"item_id":9}', '{}', 'made up', utc_timestamp(6)),
              ('items', 'update', '{"item_id":10}', '{}', 'made up', utc_timestamp(6))`,
    );
    const [first] = await letters();
    const retry = await millrace(['dead-letters', 'retry', '--id', String(first!.id)]);
    expect(retry.code).toBe(0);
    expect(retry.stdout).toContain('1 replayed and deleted');
    const [rows] = await dbs.mysql.query('select item_id from stg_item where item_id >= 9');
    expect(rows).toEqual([{ item_id: 10 }]);
    expect(await letters()).toHaveLength(1);
  }, 60_000);

  it('discard needs --yes, and deletes only what --table and --before select', async () => {
    const refused = await millrace(['dead-letters', 'discard']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('1 dead letter would be deleted');
    const none = await millrace(['dead-letters', 'discard', '--yes', '--before', '2000-01-01']);
    expect(none.stdout).toContain('discarded 0 dead letters');
    const bad = await millrace(['dead-letters', 'discard', '--yes', '--before', 'yesterday']);
    expect(bad.code).toBe(2);
    const other = await millrace(['dead-letters', 'discard', '--yes', '--table', 'nothing_here']);
    expect(other.stdout).toContain('discarded 0 dead letters');
    const all = await millrace(['dead-letters', 'discard', '--yes', '--table', 'public.item']);
    expect(all.code).toBe(0);
    expect(all.stdout).toContain('discarded 1 dead letter');
    expect(await letters()).toEqual([]);
  }, 60_000);
});

/**
 * `retry` beside a running replicator: the keys go through its stream (millrace_repairs), and a
 * row refused again comes back as a letter the replicator writes. The letters here are made by
 * the stream itself, into a column too narrow for some labels.
 */
describe('millrace dead-letters retry with run active', () => {
  const name = uniqueName('letters_live');
  const partMappings = `
- name: parts
  source: public.part
  target: stg_part
  key: { part_id: id }
  columns: { label: label, qty: qty }
- name: marker
  source: public.sync_marker
  target: stg_sync_marker
  key: { id: id }
  columns: { n: n }
`;
  let env: NodeJS.ProcessEnv;
  let partsDir: string;
  let run: RunningCli | undefined;

  beforeAll(async () => {
    await dbs.pg.query(
      `create table part (id integer primary key, label varchar(40) not null, qty integer);
       create table sync_marker (id integer primary key, n integer not null)`,
    );
    await dbs.mysql.query(
      'create table stg_part (part_id int primary key, label varchar(5) not null, qty int)',
    );
    await dbs.mysql.query('create table stg_sync_marker (id int primary key, n int not null)');
    await createReplication(dbs, name, ['part', 'sync_marker']);
    partsDir = writeMappings({ 'parts.yaml': partMappings });
    env = replicationEnv(dbs, name, partsDir);
  }, 60_000);

  afterAll(async () => {
    await endRun(run);
    await dropReplication(dbs, name).catch(() => undefined);
    if (partsDir) rmSync(partsDir, { recursive: true, force: true });
  }, 60_000);

  async function partLetters(): Promise<{ id: number; key_values: string; error: string }[]> {
    const [rows] = await dbs.mysql.query(
      `select id, key_values, error from millrace_dead_letters where mapping_name = 'parts' order by id`,
    );
    return rows as { id: number; key_values: string; error: string }[];
  }

  async function startReplicator(): Promise<void> {
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);
  }

  it('keeps a row refused again as a new letter with the error (exit 1)', async () => {
    await startReplicator();
    await dbs.pg.query(
      `insert into part values (1, 'short', 1), (2, 'much too long', 2), (3, 'also too long', 3)`,
    );
    await catchUp(dbs, 30_000);
    const before = await partLetters();
    expect(before.map((letter) => JSON.parse(letter.key_values))).toEqual([
      { part_id: '2' },
      { part_id: '3' },
    ]);
    const retry = await runCli(['dead-letters', 'retry', '--table', 'parts'], env);
    expect(retry.stdout).toMatch(/through the running replicator/);
    expect(retry.stdout).toContain('0 replayed and deleted, 2 failed again');
    expect(retry.code).toBe(1);
    const after = await partLetters();
    expect(after.map((letter) => JSON.parse(letter.key_values))).toEqual([
      { part_id: '2' },
      { part_id: '3' },
    ]);
    // Recorded anew by the replicator: new ids, the error as it is now.
    expect(after.map((letter) => letter.id)).not.toContain(before[0]!.id);
    expect(after[0]!.error).toMatch(/longer than varchar\(5\)/);
  }, 120_000);

  it('replays through the stream once the column is widened: letters gone, target = source', async () => {
    await dbs.mysql.query('alter table stg_part modify label varchar(40) not null');
    // The replicator converts with the column types it read at start: restarted after widening.
    await stopRun(run!);
    await startReplicator();
    // The retry writes the row as it is now, not as it was when it failed.
    await dbs.pg.query(`update part set label = 'changed since then', qty = 30 where id = 3`);
    await catchUp(dbs, 30_000);
    const retry = await runCli(['dead-letters', 'retry'], env);
    expect(retry.stdout).toContain('2 replayed and deleted, 0 failed again');
    expect(retry.code).toBe(0);
    expect(await partLetters()).toEqual([]);
    const { source, target } = await bothSides('part', 'part_id');
    expect(target).toEqual(source);
  }, 120_000);
});
