import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitFor,
  waitForReplicating,
} from '../support/replication.js';
import { auditJson, mappingOf } from './support.js';

/**
 * With a replicator applying a steady workload, rows are always in
 * flight between the CRM and the MES; the audit must wait for them (settle) instead of
 * reporting them, and still report a difference the replicator will never fix.
 */
describe('millrace audit while a replicator applies a workload', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  let run: RunningCli | undefined;
  let workload: pg.Client | undefined;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_live');
    await loadCrmFixture(dbs.pg, 2_000);
    await migrateReferenceStaging(dbs);
    const name = uniqueName('aud');
    await createReplication(dbs, name, [
      'res_partner',
      'product_product',
      'sale_order',
      'sale_order_line',
    ]);
    env = replicationEnv(dbs, name, referenceMappingsDir);
    const backfill = await runCli(['backfill'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
  });

  afterEach(async () => {
    killRun(run);
    await workload?.end().catch(() => undefined);
  });
  afterAll(async () => {
    killRun(run);
    await dbs?.drop();
  });

  it('gives no false alarm under load, and still finds a real difference', async () => {
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);

    workload = new pg.Client(pgClientConfig({ url: dbs.crmUrl }));
    await workload.connect();
    const client = workload;
    const random = (n: number) => Math.floor(Math.random() * n);
    const states = ['draft', 'sent', 'sale', 'done', 'cancel'];
    let stop = false;
    let transactions = 0;
    const work = (async () => {
      while (!stop) {
        await client.query('begin');
        for (let i = 0, n = 1 + random(5); i < n; i++) {
          const op = random(10);
          const order = 1 + random(2_000);
          if (op < 4) {
            // Orders move in and out of the production_orders filter.
            await client.query(
              'update sale_order set state = $1, amount_total = $2 where id = $3',
              [states[random(states.length)], (random(100_000) / 100).toFixed(2), order],
            );
          } else if (op < 6) {
            await client.query(
              'update sale_order_line set product_uom_qty = $1, price_unit = $2 where order_id = $3',
              [(random(10_000) / 1000).toFixed(3), (random(100_000) / 10_000).toFixed(4), order],
            );
          } else if (op < 8) {
            await client.query(
              `insert into sale_order_line (order_id, product_id, name, product_uom_qty, price_unit)
               values ($1, 1 + $2::int % 10, 'live line', 1, 2)`,
              [order, random(100)],
            );
          } else if (op < 9) {
            await client.query(
              `delete from sale_order_line where id = (select max(id) from sale_order_line where order_id = $1 and name = 'live line')`,
              [order],
            );
          } else {
            // Partner 1 is left alone: the test tampers with its MES row below.
            await client.query(`update res_partner set name = name || '.' where id = $1`, [
              2 + random(399),
            ]);
          }
        }
        await client.query('commit');
        transactions++;
      }
    })();

    try {
      // Let the load build up, then audit twice while it goes on.
      await waitFor('a busy workload', async () => transactions > 200, 60_000);
      let resolved = 0;
      for (let round = 0; round < 2; round++) {
        const before = transactions;
        const { report, result } = await auditJson(env, 0, ['--log-level', 'info']);
        expect(report.consistent, result.stdout).toBe(true);
        expect(mappingOf(report, 'production_orders').sourceRows).toBeGreaterThan(0);
        // The workload really ran during the audit, and the audit saw a replicator to wait for.
        expect(transactions - before).toBeGreaterThan(20);
        expect(result.stderr).toContain('"replicatorActive":true');
        const rechecked = /"resolved":(\d+),"confirmed":(\d+)/.exec(result.stderr);
        resolved += Number(rechecked?.[1] ?? 0);
        // Nothing outlived the settling: every difference seen was in flight.
        expect(Number(rechecked?.[2] ?? 0)).toBe(0);
      }
      // The test is only worth something if the audit met rows in flight and waited for them.
      expect(resolved).toBeGreaterThan(0);

      // A difference the stream never fixes is still reported, after settling.
      await dbs.mysql.query(
        `update stg_customer set customer_name = 'tampered' where crm_partner_id = 1`,
      );
      const { report } = await auditJson(env, 1, [
        '--table',
        'customers',
        '--settle-timeout',
        '20',
      ]);
      expect(mappingOf(report, 'customers').samples.different).toEqual([
        {
          key: { crm_partner_id: '1' },
          columns: { customer_name: { source: 'Company 1', target: 'tampered' } },
        },
      ]);
      expect(mappingOf(report, 'customers')).toMatchObject({ missing: 0, extra: 0, different: 1 });

      // Repair with the replicator running: only settled differences, then re-checked.
      const repaired = await auditJson(env, 0, ['--repair', '--table', 'customers']);
      expect(repaired.report.consistent).toBe(true);
      expect(repaired.result.stderr).toContain('"msg":"repaired"');
      const [rows] = await dbs.mysql.query(
        'select customer_name from stg_customer where crm_partner_id = 1',
      );
      expect(rows).toEqual([{ customer_name: 'Company 1' }]);
    } finally {
      stop = true;
      await work;
    }
    const stopped = await stopRun(run);
    expect(stopped.code).toBe(0);
    // 20–35 s alone; several suites sharing two cores can double that.
  }, 180_000);

  it('reports what the replicator did not apply within --settle-timeout, and says so', async () => {
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);
    await auditJson(env, 0, ['--table', 'production_orders']);
    // Frozen, the replicator keeps its slot (active) but applies nothing.
    run.child.kill('SIGSTOP');
    try {
      await dbs.pg.query(
        `insert into sale_order (id, name, partner_id, state, date_order, amount_total)
         values (900000, 'FROZEN-1', 1, 'sale', now(), 1)`,
      );
      const result = await runCli(
        ['audit', '--table', 'production_orders', '--settle-timeout', '2'],
        env,
      );
      const output = `${result.stdout}\n${result.stderr}`;
      expect(result.code, output).toBe(1);
      expect(result.stdout, output).toContain('replicator active on slot');
      expect(result.stdout, output).toContain(
        '1 not settled (it did not catch up within --settle-timeout)',
      );
      expect(result.stdout, output).toContain(
        'production_orders: missing on the target (1):\n  crm_order_id=900000',
      );
    } finally {
      run.child.kill('SIGCONT');
    }
    // Thawed, it applies the change and the audit agrees.
    const { report } = await auditJson(env, 0, ['--table', 'production_orders']);
    expect(report.consistent).toBe(true);
    const stopped = await stopRun(run);
    expect(stopped.code, stopped.stderr.slice(-3000)).toBe(0);
  });
});
