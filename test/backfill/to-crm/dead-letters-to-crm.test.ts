import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import { replicationEnv, uniqueName } from '../../support/replication.js';
import {
  dropReturnOrigin,
  migrateWorkOrders,
  workOrderMappings,
  workOrdersBothSides,
} from '../../support/return-path.js';

async function letters(dbs: TestDatabases): Promise<{ id: string; error: string }[]> {
  const { rows } = await dbs.pg.query<{ id: string; error: string }>(
    "select id::text, error from millrace.dead_letters where mapping_name = 'work_orders' order by id",
  );
  return rows;
}

const narrow = 'alter table mes_work_order alter column work_center type varchar(8)';
const wide = 'alter table mes_work_order alter column work_center type varchar(16)';

describe('dead-letters list | retry | discard for a to-crm mapping (letters in the CRM)', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  const stream = uniqueName('rdl');

  beforeAll(async () => {
    dbs = await createTestDatabases('crm_dead_letters');
    await migrateWorkOrders(dbs);
    env = replicationEnv(dbs, stream, workOrderMappings());
    await dbs.mysql.query(
      `insert into work_order
         (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
       select seq, 'RELEASED', '2026-03-01 06:00:00', '2026-03-02 14:00:00', seq, 0,
              if(seq = 3, 'TOO-LONG-FOR-IT', concat('WC-', seq))
         from seq_1_to_5`,
    );
  }, 120_000);

  afterAll(async () => {
    if (dbs) {
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  it('a too-narrow CRM column makes a dead letter; retry keeps it until the column is widened, then it is gone and the CRM equals the MES', async () => {
    await dbs.pg.query(narrow);
    const backfill = await runCli(['backfill', '--table', 'work_orders'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(backfill.stdout).toMatch(/work_orders\s+offline\s+4\s+1\s/);
    const recorded = await letters(dbs);
    expect(recorded).toHaveLength(1);

    const list = await runCli(['dead-letters', 'list', '--table', 'work_orders'], env);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(`#${recorded[0]!.id} `);
    expect(list.stdout).toContain('work_order_id=3');
    expect(list.stdout).toContain('work_orders: 1 dead letter\n');

    const refused = await runCli(['dead-letters', 'retry', '--table', 'work_orders'], env);
    expect(refused.code, refused.stderr).toBe(1);
    expect(refused.stdout).toContain('return path (CRM): 0 replayed and deleted, 1 failed again');
    const again = await letters(dbs);
    expect(again).toHaveLength(1);
    expect(again[0]!.id).not.toBe(recorded[0]!.id);

    await dbs.pg.query(wide);
    const retried = await runCli(['dead-letters', 'retry', '--table', 'work_orders'], env);
    expect(retried.code, retried.stderr).toBe(0);
    expect(retried.stdout).toContain('return path (CRM): 1 replayed and deleted, 0 failed again');
    expect(await letters(dbs)).toEqual([]);
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toHaveLength(5);
    expect(sides.crm).toEqual(sides.mes);
  }, 120_000);

  it('discard deletes the CRM letters of a to-crm mapping (with --yes)', async () => {
    await dbs.pg.query('delete from mes_work_order where work_order_id = 3');
    await dbs.pg.query(narrow);
    try {
      const backfill = await runCli(['backfill', '--table', 'work_orders', '--restart'], env);
      expect(backfill.code, backfill.stderr).toBe(0);
    } finally {
      await dbs.pg.query(wide);
    }
    expect(await letters(dbs)).toHaveLength(1);
    const unconfirmed = await runCli(['dead-letters', 'discard', '--table', 'work_orders'], env);
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toContain('1 dead letter would be deleted');
    const discarded = await runCli(
      ['dead-letters', 'discard', '--table', 'work_orders', '--yes'],
      env,
    );
    expect(discarded.code, discarded.stderr).toBe(0);
    expect(discarded.stdout).toContain('discarded 1 dead letter');
    expect(await letters(dbs)).toEqual([]);
  }, 120_000);
});
