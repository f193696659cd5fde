import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { migrateTarget } from '../../src/mysql/migrate.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
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

const mappingYaml = (extra: string) => `
- name: memos
  source: public.memo
  target: stg_memo
  key: { memo_id: id }
  columns: { state: state, body: body }
  onDelete: delete
${extra}
- name: marker
  source: public.marker
  target: stg_marker
  key: { id: id }
  columns: { n: n }
`;

/** 20,000 characters PostgreSQL cannot compress: stored out of line, sent as "unchanged". */
const noise = `(select string_agg(md5(random()::text || g::text), '') from generate_series(1, 625) g)`;

const sourceDigests = `select id::text as id, state, md5(body) as body from memo where state <> 'draft' order by memo.id`;
const targetDigests = `select cast(memo_id as char) as id, state, md5(body) as body from stg_memo order by memo_id`;

describe('unchanged TOAST values written fresh at a key', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  let marker = 0;
  const streams: string[] = [];

  beforeAll(async () => {
    dbs = await createTestDatabases('toast');
    await dbs.pg.query(
      'create table memo (id int primary key, state text not null, body text); create table marker (id int primary key, n int)',
    );
    // Out of line without compression, so an update that does not touch it sends "unchanged".
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

  afterEach(async () => {
    killRun(run);
    await run?.done;
    for (const name of streams.splice(0)) await dropReplication(dbs, name);
    await dbs.pg.query('truncate memo, marker');
    await dbs.mysql.query('delete from stg_memo');
    await dbs.mysql.query('delete from stg_marker');
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  async function start(filter: string): Promise<void> {
    const name = uniqueName('toast');
    await createReplication(dbs, name, ['memo', 'marker']);
    streams.push(name);
    run = startRun([], replicationEnv(dbs, name, writeMappings({ 'm.yaml': mappingYaml(filter) })));
  }

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

  it('keeps the value through an UPDATE that changes only the key', async () => {
    await start('');
    await dbs.pg.query(
      `insert into memo select i, 'active', ${noise} from generate_series(1, 20) i`,
    );
    await expectEqual();
    await dbs.pg.query('update memo set id = id + 1000000 where id <= 10');
    await expectEqual();
    // Twice in one transaction, and together with a new row at a freed key.
    await dbs.pg.query(
      `begin;
       update memo set id = id + 100 where id > 1000000;
       update memo set id = id + 100 where id > 1000100;
       delete from memo where id = 1;
       insert into memo values (3000, 'active', ${noise});
       update memo set id = 1 where id = 3000;
       commit`,
    );
    await expectEqual();
    expect((await stopRun(run!)).code).toBe(0);
  }, 120_000);
});
