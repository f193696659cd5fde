import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  endStream,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  writeMappings,
} from '../support/replication.js';
import { markerMapping } from '../support/run-marker.js';
import { createMemoTables, expectMemos, noise } from '../support/toast-memo.js';

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
${markerMapping}`;

const sourceDigests = `select id::text as id, state, md5(body) as body from memo where state = 'active' order by memo.id`;

describe('unchanged TOAST values of rows entering a filter', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('toastf');

  beforeAll(async () => {
    dbs = await createTestDatabases('toast_filter');
    await createMemoTables(dbs);
  });

  afterAll(() => endStream(dbs, name, run));

  const expectEqual = () => expectMemos(dbs, run, sourceDigests);

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
