import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTargetUrl } from '../../src/mysql/mysql-client.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { type RunningCli, stopRun, uniqueName, waitFor } from '../support/replication.js';
import {
  endReturnTest,
  migrateWorkOrders,
  returnCheckpoint,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';

const random = (n: number) => Math.floor(Math.random() * n);

function workOrderValues(): unknown[] {
  const micros = String(random(1_000_000)).padStart(6, '0');
  return [
    random(1000),
    ['PLANNED', 'RELEASED', 'IN_PROGRESS', 'DONE', 'CANCELLED'][random(5)],
    `2026-0${1 + random(9)}-1${random(10)} 0${random(10)}:1${random(10)}:2${random(10)}.${micros}`,
    `2027-01-01 00:00:00.${micros}`,
    `${random(100000)}.${random(1000)}`,
    random(3) === 0 ? null : `k${random(100)}-é`,
  ];
}

/** One MES transaction of 1-3 statements (inserts, updates, deletes); every fifth rolls back. */
async function mesTransaction(conn: mysql.Connection, n: number): Promise<void> {
  await conn.query('begin');
  for (let i = 0, count = 1 + random(3); i < count; i++) {
    const kind = random(10);
    const [max] = await conn.query('select coalesce(max(id), 1) as id from work_order');
    const id = 1 + random((max as { id: number }[])[0]!.id);
    if (kind < 4) {
      const rows = 1 + random(3);
      await conn.query(
        `insert into work_order (crm_order_id, status, planned_start, planned_finish, qty_planned, resource_code)
         values ${Array(rows).fill('(?, ?, ?, ?, ?, ?)').join(', ')}`,
        Array.from({ length: rows }, workOrderValues).flat(),
      );
    } else if (kind < 8) {
      await conn.query(
        'update work_order set qty_produced = qty_produced + 0.125, status = ?, resource_code = ? where id = ?',
        [['RELEASED', 'DONE'][random(2)], random(2) ? null : 'ü🏭', id],
      );
    } else {
      await conn.query('delete from work_order where id = ?', [id]);
    }
  }
  await conn.query(n % 5 === 4 ? 'rollback' : 'commit');
}

/**
 * qty_produced only grows on the MES, so a CRM update that lowers it is an older change applied
 * again after a newer one (a repeated insert or update): recorded, and expected never to happen.
 */
const crmReplayDetector = `
  create table wo_replays (id bigint not null, was numeric not null, became numeric not null);
  create function record_wo_replay() returns trigger language plpgsql as $$
  begin
    if new.qty_produced < old.qty_produced then
      insert into wo_replays values (new.work_order_id, old.qty_produced, new.qty_produced);
    end if;
    return new;
  end $$;
  create trigger wo_replays before update on mes_work_order
    for each row execute function record_wo_replay();`;

describe('the return path killed with SIGKILL under a MES workload', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const stream = uniqueName('retkill');
  const mappings = workOrderMappings();

  beforeAll(async () => {
    dbs = await createTestDatabases('return_kill');
    await migrateWorkOrders(dbs);
    await dbs.pg.query(crmReplayDetector);
  }, 120_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('ends with the CRM equal to the MES after 5 kills, nothing lost or repeated', async () => {
    run = await startReturnRun([], dbs, stream, mappings);
    // A first checkpoint: a run that never committed would resume at the binlog's end.
    await dbs.mysql.query(
      `insert into work_order (crm_order_id, planned_start, planned_finish, qty_planned)
       values (1, '2026-01-01 00:00:00', '2026-01-02 00:00:00', 1)`,
    );
    await waitForWorkOrders(dbs, run);
    await waitFor(
      'a first checkpoint',
      async () => (await returnCheckpoint(dbs, stream)) !== undefined,
    );

    const conn = await mysql.createConnection({
      ...parseTargetUrl(dbs.mesUrl).options,
      database: dbs.mesName,
    });
    let stopped = false;
    let transactions = 0;
    // Settled (not rejected) until awaited below, so a failing workload fails the test.
    const workload = (async () => {
      while (!stopped) await mesTransaction(conn, ++transactions);
    })().then(
      () => undefined,
      (error: unknown) => error,
    );
    let failure: unknown;
    try {
      for (let kill = 0; kill < 5; kill++) {
        await new Promise((resolve) => setTimeout(resolve, 800 + random(1500)));
        run.child.kill('SIGKILL');
        expect((await run.done).signal).toBe('SIGKILL');
        run = await startReturnRun([], dbs, stream, mappings);
      }
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    } finally {
      stopped = true;
      failure = await workload;
      await conn.end();
    }
    if (failure) throw failure;
    expect(transactions).toBeGreaterThan(20);
    await waitForWorkOrders(dbs, run, 90_000);
    expect((await dbs.pg.query('select * from wo_replays')).rows).toEqual([]);
    expect((await stopRun(run)).code).toBe(0);
  }, 240_000);
});
