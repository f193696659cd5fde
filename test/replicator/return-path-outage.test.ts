import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitFor,
} from '../support/replication.js';
import {
  endReturnTest,
  migrateWorkOrders,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';
import { proxyFor, type TcpProxy, throughProxy } from '../support/tcp-proxy.js';

const insertWorkOrder = `insert into work_order
  (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
  values (?, 'PLANNED', '2026-05-01 06:00:00.000123', '2026-05-01 14:00:00', ?, 0, 'WC-1')`;

/** Lines of the run's output from its return direction that contain `text`. */
function returnLines(run: RunningCli, text: string): number {
  return run
    .output()
    .split('\n')
    .filter((line) => line.includes('"direction":"to-crm"') && line.includes(text)).length;
}

/**
 * A MariaDB restart as the return path sees it: every connection to the MES (the binlog dump
 * and the control session) drops at once, new ones hang for a while, and the server comes back
 * on a new binlog file. The stream waits the outage out and resumes from its CRM checkpoint:
 * the changes made meanwhile arrive, nothing is lost, and `run` never exits.
 */
describe('return path through a MES outage', () => {
  let dbs: TestDatabases;
  let proxy: TcpProxy;
  let run: RunningCli | undefined;
  const stream = uniqueName('rout');
  const mappings = workOrderMappings();

  beforeAll(async () => {
    dbs = await createTestDatabases('return_outage');
    await migrateWorkOrders(dbs);
    proxy = await proxyFor(dbs.mesUrl);
  }, 120_000);

  afterAll(async () => {
    await proxy?.close();
    await endReturnTest(dbs, run, stream);
  });

  it('waits out the MES going away and coming back on a new binlog, losing nothing', async () => {
    run = startRun(['--direction', 'to-crm'], {
      ...replicationEnv(dbs, stream, mappings),
      MES_DATABASE_URL: throughProxy(dbs.mesUrl, proxy),
    });
    await waitFor('the return stream to replicate', async () => {
      return returnLines(run!, 'replicator replicating') > 0;
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${run?.output().slice(-3000)}`);
    });
    for (let order = 1; order <= 20; order++) {
      await dbs.mysql.query(insertWorkOrder, [order, order]);
    }
    await waitForWorkOrders(dbs, run);

    // Down: every MES connection of the run is cut and new ones hang.
    proxy.cut();
    proxy.stall();
    await waitFor('the run to notice the MES is gone', async () => {
      return returnLines(run!, 'replicator source down') > 0;
    });
    // Meanwhile the MES goes on (written directly) and starts a new binlog file.
    await dbs.mysql.query(`update work_order set status = 'RELEASED', qty_produced = 2.5
      where crm_order_id <= 10`);
    await dbs.mysql.query('delete from work_order where crm_order_id > 15');
    await dbs.mysql.query('flush binary logs');
    for (let order = 21; order <= 30; order++) {
      await dbs.mysql.query(insertWorkOrder, [order, order]);
    }
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(run.child.exitCode).toBeNull();

    // Back: the stream resumes from its checkpoint and catches up.
    proxy.resume();
    await waitFor('the return stream to replicate again', async () => {
      return returnLines(run!, 'replicator replicating') > 1;
    });
    await waitForWorkOrders(dbs, run);
    const { rows } = await dbs.pg.query<{ n: string }>(
      'select count(*)::text as n from mes_work_order',
    );
    expect(Number(rows[0]!.n)).toBe(25);
    expect((await stopRun(run)).code).toBe(0);
    run = undefined;
  }, 180_000);
});
