import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockName } from '../../src/mysql/replicator-lock.js';
import { finished, startCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { createMarkedTable, type MarkedTable } from '../support/marked-table.js';
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
  waitForReplicating,
} from '../support/replication.js';
import { sourceAndTarget } from '../support/schemas.js';
import { Workload } from '../support/workload.js';

const item: MarkedTable = {
  crm: 'item (id int primary key, name text not null, version int not null)',
  mes: 'stg_item (item_id int primary key, name text, version int)',
  mapping:
    '{ name: items, source: public.item, target: stg_item, key: { item_id: id }, columns: { name: name, version: version } }',
};

const expectedItems =
  'select id::text as id, name, version::text as version from item order by item.id';
const actualItems = `
  select cast(item_id as char) as id, name, cast(version as char) as version
    from stg_item order by stg_item.item_id`;

const random = (n: number) => Math.floor(Math.random() * n);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Small transactions on the items until stopped: each update raises a row's version, so a
 * target row older than the source's shows as a lower version; some rows go and come back.
 */
function churnItems(url: string, rows: number): Workload {
  return new Workload(url, async (client, n) => {
    const id = 1 + random(rows);
    if (random(10) === 0) {
      await client.query(
        `begin; delete from item where id = ${id};
         insert into item values (${id}, 'back ${n}', 1); commit;`,
      );
    } else {
      await client.query(
        `update item set version = version + 1, name = 'v' || (version + 1) where id = $1`,
        [id],
      );
    }
    await pause(random(10));
  });
}

describe('the replicator lock fences the writer', () => {
  let dbs: TestDatabases;
  let mappingsDir: string;
  let run: RunningCli | undefined;
  let workload: Workload | undefined;
  const streams = new TestStreams({
    label: 'fence',
    sourceTables: ['item', 'sync_marker'],
    targetTables: ['stg_item', 'stg_sync_marker', 'millrace_backfills'],
  });

  beforeAll(async () => {
    dbs = await createTestDatabases('lock_fence');
    mappingsDir = await createMarkedTable(dbs, item);
  });

  afterEach(async () => {
    await workload?.stop().catch(() => undefined);
    workload = undefined;
    await endRun(run);
    await streams.dropAll(dbs);
  });

  afterAll(async () => {
    killRun(run);
    await dbs?.drop();
  });

  /** The MySQL connection id holding the replicator lock of `slot`, or null. */
  async function lockHolder(slot: string): Promise<number | null> {
    const [rows] = await dbs.mysql.query('select is_used_lock(?) as holder', [
      lockName(dbs.mesName, slot),
    ]);
    const holder = (rows as { holder: number | string | null }[])[0]?.holder;
    return holder === null || holder === undefined ? null : Number(holder);
  }

  /** Every session on the test's MES database but the test's own. */
  async function otherSessions(): Promise<number[]> {
    const [rows] = await dbs.mysql.query(
      'select id from information_schema.processlist where db = ? and id <> connection_id()',
      [dbs.mesName],
    );
    return (rows as { id: number }[]).map((row) => Number(row.id));
  }

  /** A replicator streaming 3,000 items under a workload; returns its slot and lock holder. */
  async function streaming(): Promise<{ name: string; env: NodeJS.ProcessEnv; holder: number }> {
    const name = await streams.fresh(dbs);
    await dbs.pg.query(`insert into item select i, 'v1', 1 from generate_series(1, 3000) i`);
    const env = replicationEnv(dbs, name, mappingsDir);
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);
    await catchUp(dbs, 60_000);
    workload = churnItems(dbs.crmUrl, 3000);
    const holder = await lockHolder(name);
    expect(holder).not.toBeNull();
    expect(await otherSessions()).toContain(holder);
    return { name, env, holder: holder! };
  }

  /** Stops the workload, waits for the replicator to apply all of it, and compares every row. */
  async function expectSourceState(): Promise<void> {
    await workload!.stop();
    const transactions = workload!.transactions;
    workload = undefined;
    await catchUp(dbs, 60_000);
    const { expected, actual } = await sourceAndTarget(dbs, expectedItems, actualItems);
    // Equal rows: none is older than the source's (a lower version), none missing or extra.
    expect(actual).toEqual(expected);
    expect(transactions).toBeGreaterThan(100);
  }

  it('re-fences within 15 s after the lock session is killed, and a backfill started meanwhile follows in-stream', async () => {
    const { name, env, holder } = await streaming();
    const running = run!;
    const killedAt = Date.now();
    await dbs.mysql.query(`kill ${holder}`);
    const backfill = finished(startCli(['backfill', '--chunk-size', '500'], env));

    let fenced: number | null = null;
    await waitFor(
      'the replicator to hold its lock again',
      async () => {
        fenced = await lockHolder(name);
        return fenced !== null && fenced !== holder;
      },
      15_000,
    );
    const refenceMs = Date.now() - killedAt;

    const result = await backfill;
    expect(result.code, result.stderr).toBe(0);
    // It saw the replicator and had it copy in-stream; it never took the offline path.
    expect(result.stderr).toMatch(/a replicator is running on this slot/);
    const [modes] = await dbs.mysql.query(
      'select mapping_name, status, mode from millrace_backfills order by mapping_name',
    );
    expect(modes).toEqual([
      { mapping_name: 'items', status: 'done', mode: 'online' },
      { mapping_name: 'marker', status: 'done', mode: 'online' },
    ]);
    // The backfill's sessions are gone: the lock is the replicator's.
    expect(await lockHolder(name)).toBe(fenced);
    expect(running.child.exitCode).toBeNull();

    await expectSourceState();
    expect(running.output()).toMatch(/"state":"target down"/);
    process.stderr.write(`lock fence: re-fenced ${refenceMs} ms after the KILL\n`);
    expect((await stopRun(running)).code).toBe(0);
  }, 150_000);

  /** The checkpoint of `slot` on the MES. */
  async function checkpointOf(slot: string): Promise<string | undefined> {
    const [rows] = await dbs.mysql.query(
      'select lsn_text from millrace_checkpoints where slot_name = ?',
      [slot],
    );
    return (rows as { lsn_text: string }[])[0]?.lsn_text;
  }

  it('writes nothing while another session holds the lock it lost, and takes it back when freed', async () => {
    const { name, holder } = await streaming();
    const running = run!;
    // As an offline backfill claiming the lock at the worst moment: right after the KILL, before
    // the replicator could take it again.
    await dbs.mysql.query(`kill ${holder}`);
    // The killed session lets go as soon as its thread notices the KILL: wait that long.
    const [taken] = await dbs.mysql.query('select get_lock(?, 5) as taken', [
      lockName(dbs.mesName, name),
    ]);
    expect(Number((taken as { taken: unknown }[])[0]?.taken)).toBe(1);
    const fencedAt = await checkpointOf(name);
    const [before] = await dbs.mysql.query(actualItems);
    // Longer than the lock watch's period, while the workload goes on: nothing is written.
    await pause(7_000);
    expect(await checkpointOf(name)).toBe(fencedAt);
    const [during] = await dbs.mysql.query(actualItems);
    expect(during).toEqual(before);
    expect(running.child.exitCode).toBeNull();

    await dbs.mysql.query('select release_lock(?)', [lockName(dbs.mesName, name)]);
    await waitFor(
      'the replicator to take its lock back',
      async () => {
        const now = await lockHolder(name);
        return now !== null && (await otherSessions()).includes(now);
      },
      15_000,
    );
    await expectSourceState();
    expect((await stopRun(running)).code).toBe(0);
  }, 150_000);
});
