import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { migrateTarget } from '../../src/mysql/migrate.js';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  dropReplication,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitFor,
  writeMappings,
} from '../support/replication.js';

/**
 * Rows that enter a mapping's filter through an UPDATE that does not touch their TOASTed column:
 * the target has no row to keep the value, so it must come from the stream. `millrace setup`
 * sets REPLICA IDENTITY FULL on the table, and the old row pgoutput then sends carries it.
 */
const mappingsYaml = `
- name: memos
  source: public.memo
  target: stg_memo
  key: { memo_id: id }
  columns: { state: state, body: body }
  filter: { state: { eq: active } }
  onDelete: delete
- name: marker
  source: public.marker
  target: stg_marker
  key: { id: id }
  columns: { n: n }
`;

/** 20,000 characters PostgreSQL cannot compress: stored out of line, sent as "unchanged". */
const noise = `(select string_agg(md5(random()::text || g::text), '') from generate_series(1, 625) g)`;

const sourceDigests = `select id::text as id, state, md5(body) as body from memo where state = 'active' order by memo.id`;
const targetDigests = `select cast(memo_id as char) as id, state, md5(body) as body from stg_memo order by memo_id`;

describe('unchanged TOAST values of rows entering a filter', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('toastf');
  let marker = 0;

  beforeAll(async () => {
    dbs = await createTestDatabases('toast_filter');
    await dbs.pg.query(
      'create table memo (id int primary key, state text not null, body text); create table marker (id int primary key, n int)',
    );
    await dbs.pg.query('alter table memo alter column body set storage external');
    await migrateTarget({
      targetUrl: dbs.mesUrl,
      migrationsDir: '/nonexistent',
      connectTimeoutMs: 5_000,
      logger: silentLogger(),
    });
    await dbs.mysql.query(
      'create table stg_memo (memo_id int primary key, state varchar(20), body mediumtext)',
    );
    await dbs.mysql.query('create table stg_marker (id int primary key, n int)');
  });

  afterAll(async () => {
    killRun(run);
    await run?.done;
    if (dbs) await dropReplication(dbs, name);
    await dbs?.drop();
  });

  async function expectEqual(): Promise<void> {
    marker++;
    await dbs.pg.query('insert into marker values (1, $1) on conflict (id) do update set n = $1', [
      marker,
    ]);
    await waitFor('the marker', async () => {
      const [rows] = await dbs.mysql.query('select n from stg_marker where id = 1');
      return (rows as { n: number }[])[0]?.n === marker || run?.child.exitCode !== null;
    });
    expect(run?.child.exitCode, run?.output()).toBeNull();
    const [target] = await dbs.mysql.query(targetDigests);
    expect(target).toEqual((await dbs.pg.query(sourceDigests)).rows);
  }

  async function identity(): Promise<string> {
    const { rows } = await dbs.pg.query<{ relreplident: string }>(
      "select relreplident from pg_class where oid = 'memo'::regclass",
    );
    return rows[0]!.relreplident;
  }

  it('setup sets REPLICA IDENTITY FULL, and the values survive entering the filter', async () => {
    const env = replicationEnv(dbs, name, writeMappings({ 'm.yaml': mappingsYaml }));
    const setup = await runCli(['setup'], env);
    expect(setup.code, setup.stderr).toBe(0);
    expect(setup.stdout).toContain(
      'set REPLICA IDENTITY FULL on public.memo: mapping memos writes state, body under its filter and filters on state: ',
    );
    expect(await identity()).toBe('f');
    const again = await runCli(['setup'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('public.memo has REPLICA IDENTITY FULL, as needed');

    await dbs.pg.query(
      `insert into memo select i, 'draft', ${noise} from generate_series(1, 20) i`,
    );
    run = startRun([], env);
    await expectEqual();
    // (b) a status change moves rows into the filter without touching body.
    await dbs.pg.query("update memo set state = 'active' where id <= 10");
    await expectEqual();
    // (c) leave and re-enter within one transaction, for rows on the target and rows not yet.
    await dbs.pg.query(
      `begin;
       update memo set state = 'draft' where id <= 5;
       update memo set state = 'active' where id <= 5 or id between 11 and 15;
       update memo set state = 'draft' where id between 11 and 15;
       update memo set state = 'active' where id between 11 and 15;
       commit`,
    );
    await expectEqual();
    expect((await dbs.pg.query(sourceDigests)).rows).toHaveLength(15);
    expect((await stopRun(run)).code).toBe(0);
  }, 120_000);
});
