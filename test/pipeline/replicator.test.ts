import { readFileSync } from 'node:fs';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { finished, startCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  catchUp,
  endRun,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  TestStreams,
  waitFor,
  writeMappings,
} from '../support/replication.js';
import { createSchemas, sourceAndTarget } from '../support/schemas.js';

const crmSchema = `
  create table item (
    id bigint primary key, name text not null, qty int, price numeric(14,3), state text not null default 'sale',
    attrs jsonb, big text, updated_at timestamptz
  );
  create table note (id int primary key, body text);
  create table sync_marker (id int primary key, n int not null);
  create table unmapped (id serial primary key, junk text);
`;

const mesSchema = [
  `create table stg_item (
    item_id bigint primary key, name varchar(40), qty int, price decimal(14,3), state varchar(20),
    priority varchar(20), title varchar(60), big longtext, updated_at datetime(6),
    _source_lsn varchar(24), _synced_at datetime(6)
  )`,
  `create table stg_item_history (
    item_id bigint primary key, name varchar(40), label varchar(80),
    is_deleted tinyint(1) not null default 0, deleted_at datetime(6) null
  )`,
  'create table stg_note (note_id int primary key, body text)',
  'create table stg_sync_marker (id int primary key, n int not null)',
];

const mappingYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { item_id: id }
  columns:
    name: name
    qty: qty
    price: price
    state: { from: state, map: { sale: RELEASED, done: COMPLETED }, default: PLANNED }
    priority: { from: attrs, path: priority, default: normal }
    title: { from: name, transform: [trim, upper] }
    big: big
    updated_at: updated_at
  filter:
    state: { notIn: [draft] }
  onDelete: delete
  metadata: { lsn: _source_lsn, syncedAt: _synced_at }
- name: items_history
  source: public.item
  target: stg_item_history
  key: { item_id: id }
  columns:
    name: name
    label: { template: "{name}/{qty}" }
  onDelete: soft
  softDelete: { flag: is_deleted, at: deleted_at }
- name: notes
  source: public.note
  target: stg_note
  key: { note_id: id }
  columns: { body: body }
  onDelete: ignore
- name: marker
  source: public.sync_marker
  target: stg_sync_marker
  key: { id: id }
  columns: { n: n }
`;

/** What stg_item must hold, computed from the CRM in SQL, independently of millrace. */
const expectedItems = `
  select id::text as item_id, name, qty::text as qty, price::text as price,
         case state when 'sale' then 'RELEASED' when 'done' then 'COMPLETED' else 'PLANNED' end as state,
         coalesce(attrs->>'priority', 'normal') as priority, upper(btrim(name)) as title, big,
         to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as updated_at
    from item where state <> 'draft' order by id`;

const actualItems = `
  select cast(item_id as char) as item_id, name, cast(qty as char) as qty, cast(price as char) as price, state,
         priority, title, big, date_format(updated_at, '%Y-%m-%d %H:%i:%s.%f') as updated_at
    from stg_item order by stg_item.item_id`;

describe('millrace run', () => {
  let dbs: TestDatabases;
  let mappingsDir: string;
  let run: RunningCli | undefined;
  const streams = new TestStreams({
    label: 'rep',
    sourceTables: ['item', 'note', 'sync_marker'],
    targetTables: ['stg_item', 'stg_item_history', 'stg_note', 'stg_sync_marker'],
  });

  beforeAll(async () => {
    dbs = await createTestDatabases('replicator');
    await createSchemas(dbs, crmSchema, mesSchema);
    mappingsDir = writeMappings({ 'items.yaml': mappingYaml });
  });

  afterEach(async () => {
    await endRun(run);
    await streams.dropAll(dbs);
  });
  afterAll(async () => {
    killRun(run);
    await dbs?.drop();
  });

  /** Fresh slot and publication, empty tables on both sides. */
  const freshStream = () => streams.fresh(dbs);

  /** Waits until everything committed on the CRM so far is applied on the MES. */
  const caughtUp = (timeoutMs = 60_000) => catchUp(dbs, timeoutMs);

  async function expectItemsMatch(): Promise<void> {
    const { expected, actual } = await sourceAndTarget(dbs, expectedItems, actualItems);
    expect(actual).toEqual(expected);
  }

  it('applies inserts, updates, deletes, key changes, filters, soft deletes, TOAST and truncate exactly', async () => {
    const name = await freshStream();
    run = startRun(['--heartbeat', '1'], replicationEnv(dbs, name, mappingsDir));

    await dbs.pg.query(`insert into item values
      (1, ' widget ', 5, 123456789.125, 'sale', '{"priority":"high"}', 'small', '2024-03-31 01:59:59.999999+02'),
      (2, 'Café ünï 🚀', 7, -0.001, 'done', null, null, '2024-10-27 02:30:00.000001+01'),
      (3, 'draft one', 1, 1, 'draft', null, null, null),
      (4, 'to delete', 1, 1, 'sale', null, null, null),
      (5, 'rekey me', 2, 2, 'sale', null, null, null)`);
    await dbs.pg.query(`insert into note values (1, 'keep me'), (2, 'history')`);
    await caughtUp();
    await expectItemsMatch();

    // A large value is TOASTed; an update that does not touch it sends it as "unchanged".
    await dbs.pg.query(
      `update item set big = (select string_agg(md5(i::text || random()::text), '') from generate_series(1, 600) i) where id = 1`,
    );
    await dbs.pg.query('update item set qty = 6 where id = 1');
    await dbs.pg.query(`update item set state = 'sale' where id = 3`); // enters the filter
    await dbs.pg.query(`update item set state = 'draft' where id = 2`); // leaves it
    await dbs.pg.query('delete from item where id = 4');
    await dbs.pg.query('update item set id = 50 where id = 5'); // primary key change
    await dbs.pg.query('delete from note where id = 2'); // onDelete: ignore keeps it
    await dbs.pg.query(
      'begin; insert into item values (6, $$in and out$$, 1, 1); delete from item where id = 6; commit;',
    );
    await caughtUp();
    await expectItemsMatch();
    const [big] = await dbs.mysql.query('select length(big) as n from stg_item where item_id = 1');
    expect((big as { n: number }[])[0]?.n).toBe(19_200);

    const [history] = await dbs.mysql.query(
      'select item_id, label, is_deleted, deleted_at is not null as has_deleted_at from stg_item_history order by item_id = 6, item_id',
    );
    expect(history).toEqual([
      { item_id: '1', label: ' widget /6', is_deleted: 0, has_deleted_at: 0 },
      { item_id: '2', label: 'Café ünï 🚀/7', is_deleted: 0, has_deleted_at: 0 },
      { item_id: '3', label: 'draft one/1', is_deleted: 0, has_deleted_at: 0 },
      { item_id: '4', label: 'to delete/1', is_deleted: 1, has_deleted_at: 1 },
      { item_id: '5', label: 'rekey me/2', is_deleted: 1, has_deleted_at: 1 },
      { item_id: '50', label: 'rekey me/2', is_deleted: 0, has_deleted_at: 0 },
      // Inserted and soft-deleted in one transaction: the history keeps it, flagged.
      { item_id: '6', label: 'in and out/1', is_deleted: 1, has_deleted_at: 1 },
    ]);
    const [notes] = await dbs.mysql.query('select note_id, body from stg_note order by note_id');
    expect(notes).toEqual([
      { note_id: 1, body: 'keep me' },
      { note_id: 2, body: 'history' },
    ]);
    const [meta] = await dbs.mysql.query(
      'select _source_lsn, _synced_at from stg_item where item_id = 1',
    );
    expect((meta as { _source_lsn: string }[])[0]?._source_lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    await dbs.pg.query('truncate item');
    await caughtUp();
    const [after] = await dbs.mysql.query('select count(*) as n from stg_item');
    expect(Number((after as { n: number }[])[0]?.n)).toBe(0);
    const [soft] = await dbs.mysql.query(
      'select count(*) as n from stg_item_history where is_deleted = 0',
    );
    expect(Number((soft as { n: number }[])[0]?.n)).toBe(0);

    const result = await stopRun(run);
    expect(result.code).toBe(0);
    // The slot was acknowledged up to the checkpoint written with the last batch.
    const [checkpoint] = await dbs.mysql.query(
      'select lsn_text from millrace_checkpoints where slot_name = ?',
      [name],
    );
    const slot = await dbs.pg.query(
      'select confirmed_flush_lsn::text as lsn, ($1::pg_lsn <= confirmed_flush_lsn) as acked from pg_replication_slots where slot_name = $2',
      [(checkpoint as { lsn_text: string }[])[0]?.lsn_text, name],
    );
    expect(slot.rows[0]?.acked).toBe('t');
  });

  /** Peak RSS of a process in bytes, from /proc (VmHWM). */
  function peakRss(pid: number): number {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    return Number(match?.[1] ?? 0) * 1024;
  }

  it('survives SIGKILL at random moments under a mixed workload with exactly the source state', async () => {
    const name = await freshStream();
    const env = replicationEnv(dbs, name, mappingsDir);
    const workload = new pg.Client(pgClientConfig({ url: dbs.crmUrl }));
    await workload.connect();
    let stop = false;
    let transactions = 0;
    const random = (n: number) => Math.floor(Math.random() * n);
    const work = (async () => {
      while (!stop) {
        await workload.query('begin');
        for (let i = 0, n = 1 + random(6); i < n; i++) {
          const id = 1 + random(60);
          const op = random(10);
          if (op < 4) {
            await workload.query(
              `insert into item (id, name, qty, price, state) values ($1, $2, $3, $4, $5)
                 on conflict (id) do update set name = excluded.name, qty = excluded.qty, price = excluded.price, state = excluded.state`,
              [
                id,
                `n${random(1000)}`,
                random(100),
                `${random(100000)}.${random(1000)}`,
                ['sale', 'done', 'draft', 'cancel'][random(4)],
              ],
            );
          } else if (op < 7) {
            await workload.query(
              'update item set qty = qty + 1, updated_at = now() where id = $1',
              [id],
            );
          } else if (op < 9) {
            await workload.query('delete from item where id = $1', [id]);
          } else {
            await workload.query(
              'update item set id = $2 where id = $1 and not exists (select 1 from item where id = $2)',
              [id, 61 + random(60)],
            );
          }
        }
        await workload.query(random(8) === 0 ? 'rollback' : 'commit');
        transactions++;
      }
    })();
    try {
      for (let kill = 0; kill < 6; kill++) {
        run = startRun([], env);
        await new Promise((resolve) => setTimeout(resolve, 700 + random(1500)));
        run.child.kill('SIGKILL');
        await run.done;
      }
    } finally {
      stop = true;
      await work;
      await workload.end();
    }
    expect(transactions).toBeGreaterThan(50);
    run = startRun([], env);
    await caughtUp();
    await expectItemsMatch();
    const [history] = await dbs.mysql.query(
      'select cast(item_id as char) as id, name from stg_item_history where is_deleted = 0 order by item_id',
    );
    const source = await dbs.pg.query('select id::text as id, name from item order by item.id');
    expect(history).toEqual(source.rows);
    expect((await stopRun(run)).code).toBe(0);
  }, 120_000);

  it('replicates a 200,000-row transaction with bounded memory', async () => {
    const name = await freshStream();
    run = startRun([], replicationEnv(dbs, name, mappingsDir));
    await dbs.pg.query(
      `insert into item (id, name, qty, price, state, attrs)
         select i, 'bulk ' || i, i % 100, i * 1.5, 'sale', '{"priority":"low"}' from generate_series(1, 200000) i`,
    );
    await caughtUp(120_000);
    const rss = peakRss(run.child.pid!);
    const [count] = await dbs.mysql.query('select count(*) as n from stg_item');
    expect(Number((count as { n: number }[])[0]?.n)).toBe(200_000);
    expect(rss).toBeLessThan(256 * 1024 * 1024);
    expect((await stopRun(run)).code).toBe(0);
  }, 180_000);

  it('reconnects after the walsender is terminated and the MES connection is killed, with exact results', async () => {
    const name = await freshStream();
    run = startRun([], replicationEnv(dbs, name, mappingsDir));
    await dbs.pg.query(
      `insert into item (id, name, qty, price) select i, 'x' || i, i, i from generate_series(1, 500) i`,
    );
    await caughtUp();
    await dbs.pg.query(
      'select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name = $1 and active_pid is not null',
      [name],
    );
    await dbs.pg.query(`update item set qty = qty * 2 where id % 3 = 0`);
    const [threads] = await dbs.mysql.query(
      'select id from information_schema.processlist where db = ? and id <> connection_id()',
      [dbs.mesName],
    );
    for (const { id } of threads as { id: number }[])
      await dbs.mysql.query(`kill ${id}`).catch(() => undefined);
    await dbs.pg.query(`delete from item where id % 5 = 0`);
    await caughtUp(60_000);
    await expectItemsMatch();
    expect(run.output()).toMatch(/"state":"(source|target) down"/);
    expect((await stopRun(run)).code).toBe(0);
  }, 120_000);

  it('refuses a second replicator on the same slot with exit 3', async () => {
    const name = await freshStream();
    const env = replicationEnv(dbs, name, mappingsDir);
    run = startRun([], env);
    await caughtUp();
    const second = await finished(startCli(['run'], env));
    expect(second.code).toBe(3);
    expect(second.stderr).toMatch(/another millrace run already replicates slot/);
    expect((await stopRun(run)).code).toBe(0);
  });

  it('sends a bad row to the dead letters and goes on; --on-error stop stops without acknowledging it', async () => {
    const name = await freshStream();
    const env = replicationEnv(dbs, name, mappingsDir);
    run = startRun([], env);
    await dbs.pg.query(
      `insert into item (id, name) values (1, 'fine'), (2, $1), (3, 'also fine')`,
      ['x'.repeat(41)],
    );
    await caughtUp();
    const [rows] = await dbs.mysql.query('select item_id from stg_item order by item_id');
    expect(rows).toEqual([{ item_id: '1' }, { item_id: '3' }]);
    const [letters] = await dbs.mysql.query(
      'select mapping_name, operation, key_values, error from millrace_dead_letters order by mapping_name',
    );
    // Both mappings of the table refuse the 41-character name (varchar(40) on both targets).
    expect(letters).toMatchObject([
      { mapping_name: 'items', operation: 'insert', key_values: '{"item_id":"2"}' },
      { mapping_name: 'items_history', operation: 'insert', key_values: '{"item_id":"2"}' },
    ]);
    expect((letters as { error: string }[])[0]?.error).toMatch(/name/);
    expect((await stopRun(run)).code).toBe(0);

    const [before] = await dbs.mysql.query(
      'select lsn from millrace_checkpoints where slot_name = ?',
      [name],
    );
    await dbs.pg.query(`insert into item (id, name) values (4, $1)`, ['y'.repeat(41)]);
    const stopped = await finished(startCli(['run', '--on-error', 'stop'], env));
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toMatch(/items.*name/);
    const [after] = await dbs.mysql.query(
      'select lsn from millrace_checkpoints where slot_name = ?',
      [name],
    );
    expect(after).toEqual(before);
  });

  it('stops with exit 3 naming mapping and column when a mapped column is dropped', async () => {
    const name = await freshStream();
    run = startRun([], replicationEnv(dbs, name, mappingsDir));
    await caughtUp();
    await dbs.pg.query('alter table item drop column qty');
    await dbs.pg.query(`insert into item (id, name) values (7, 'after ddl')`);
    const result = await run.done;
    await dbs.pg.query('alter table item add column qty int');
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/mapping items.*public\.item\.qty was dropped/);
    const [rows] = await dbs.mysql.query('select count(*) as n from stg_item where item_id = 7');
    expect(Number((rows as { n: number }[])[0]?.n)).toBe(0);
  });

  it('advances an idle slot with the heartbeat', async () => {
    const name = await freshStream();
    run = startRun(['--heartbeat', '1'], replicationEnv(dbs, name, mappingsDir));
    await caughtUp();
    // WAL that the publication does not carry: only a heartbeat can move the slot past it.
    await dbs.pg.query(
      `insert into unmapped (junk) select md5(i::text) from generate_series(1, 1000) i`,
    );
    const { rows } = await dbs.pg.query<{ lsn: string }>(
      'select pg_current_wal_lsn()::text as lsn',
    );
    await waitFor(
      'the slot to pass the unmapped WAL',
      async () => {
        const slot = await dbs.pg.query(
          'select confirmed_flush_lsn >= $1::pg_lsn as passed from pg_replication_slots where slot_name = $2',
          [rows[0]!.lsn, name],
        );
        return slot.rows[0]?.passed === 't';
      },
      20_000,
    );
    expect((await stopRun(run)).code).toBe(0);
  });
});
