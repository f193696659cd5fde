import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
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
  writeMappings,
} from '../support/replication.js';
import { markerMapping } from '../support/run-marker.js';
import { createMemoTables, expectMemos, noise } from '../support/toast-memo.js';

const mappingYaml = (extra: string) => `
- name: memos
  source: public.memo
  target: stg_memo
  key: { memo_id: id }
  columns: { state: state, body: body }
  onDelete: delete
${extra}${markerMapping}`;

const sourceDigests = `select id::text as id, state, md5(body) as body from memo where state <> 'draft' order by memo.id`;

describe('unchanged TOAST values written fresh at a key', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const streams: string[] = [];

  beforeAll(async () => {
    dbs = await createTestDatabases('toast');
    await createMemoTables(dbs);
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

  const expectEqual = () => expectMemos(dbs, run, sourceDigests);

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
