import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../../src/postgres/pg-client.js';
import { type CliResult, finished, runCli, startCli } from '../../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import {
  type RunningCli,
  replicationEnv,
  stopRun,
  uniqueName,
  waitFor,
} from '../../support/replication.js';
import {
  endReturnTest,
  migrateWorkOrders,
  returnCheckpoint,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
  workOrdersBothSides,
} from '../../support/return-path.js';

/** `count` MES work orders more, numbered on from the highest id (the Sequence engine's rows). */
async function addWorkOrders(dbs: TestDatabases, count: number): Promise<void> {
  await dbs.mysql.query(
    `insert into work_order
       (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
     select seq, 'RELEASED', '2026-03-01 06:00:00.125', '2026-03-02 14:00:00', seq / 7, 0,
            concat('WC-', seq % 13)
       from seq_1_to_${count}`,
  );
}

/** A CRM work order the MES never had. */
async function addStrayCrmRow(dbs: TestDatabases, id: number): Promise<void> {
  await dbs.pg.query(
    `insert into mes_work_order (work_order_id, sale_order_id, status, planned_start, planned_finish,
       qty_planned, qty_produced, qty_scrapped, work_center, updated_at)
     values ($1, 1, 'PLANNED', now(), now(), 1, 0, 0, 'STRAY', now())`,
    [id],
  );
}

async function progressOf(
  dbs: TestDatabases,
): Promise<{ status: string; rows_read: string } | undefined> {
  const { rows } = await dbs.pg.query<{ status: string; rows_read: string }>(
    "select status, rows_read::text from millrace.backfill_progress where mapping = 'work_orders'",
  );
  return rows[0];
}

/** Whether a `millrace backfill` session of this CRM database waits on a lock now. */
async function backfillWaitsOnLock(dbs: TestDatabases): Promise<boolean> {
  const { rows } = await dbs.pg.query(
    `select 1 from pg_stat_activity
      where datname = current_database() and application_name = 'millrace backfill'
        and wait_event_type = 'Lock'`,
  );
  return rows.length > 0;
}

/** The CLI's result, or undefined if it has not exited within `ms`. */
function within(done: Promise<CliResult>, ms: number): Promise<CliResult | undefined> {
  return Promise.race([
    done,
    new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), ms)),
  ]);
}

async function expectCrmEqualsMes(dbs: TestDatabases): Promise<void> {
  const sides = await workOrdersBothSides(dbs);
  expect(sides.crm.length).toBe(sides.mes.length);
  expect(sides.crm).toEqual(sides.mes);
}

describe('setup and backfill of a to-crm mapping (MES work orders -> CRM)', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  let run: RunningCli | undefined;
  const stream = uniqueName('rbf');
  const mappings = workOrderMappings();

  beforeAll(async () => {
    dbs = await createTestDatabases('crm_backfill');
    await migrateWorkOrders(dbs);
    env = replicationEnv(dbs, stream, mappings);
  }, 120_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('setup records where the return stream starts, so a MES change before the first run arrives', async () => {
    const first = await runCli(['setup'], env);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`return stream ${stream} starts at `);
    const recorded = await returnCheckpoint(dbs, stream);
    expect(recorded).toBeDefined();
    await addWorkOrders(dbs, 3);
    const again = await runCli(['setup'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(`return stream ${stream} resumes at its checkpoint`);
    expect(await returnCheckpoint(dbs, stream)).toEqual(recorded);
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    await waitForWorkOrders(dbs, run);
    expect((await workOrdersBothSides(dbs)).crm).toHaveLength(3);
    const stopped = await stopRun(run);
    expect(stopped.code, stopped.stderr).toBe(0);
    run = undefined;
  }, 120_000);

  it('backfill --table copies a few thousand MES rows in chunks and removes CRM rows the MES lacks', async () => {
    await addWorkOrders(dbs, 3000);
    // 2 reached the CRM through the stream, which is stopped now.
    await dbs.mysql.query('delete from work_order where id = 2');
    await addStrayCrmRow(dbs, 1_000_000);
    const result = await runCli(['backfill', '--table', 'work_orders', '--chunk-size', '500'], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/work_orders\s+offline\s+3002\s+0\s+2\s/);
    expect(await progressOf(dbs)).toEqual({ status: 'done', rows_read: '3002' });
    await expectCrmEqualsMes(dbs);
  }, 120_000);

  it('a killed backfill resumes after its last committed chunk; --restart starts over', async () => {
    await dbs.mysql.query("update work_order set status = 'DONE' where id % 3 = 0");
    const child = startCli(
      ['backfill', '--table', 'work_orders', '--chunk-size', '20', '--restart'],
      env,
    );
    const killed = finished(child);
    await waitFor(
      'the backfill to commit a few chunks',
      async () => {
        const progress = await progressOf(dbs);
        return progress?.status === 'running' && Number(progress.rows_read) >= 400;
      },
      60_000,
    );
    child.kill('SIGKILL');
    await killed;
    const interrupted = await progressOf(dbs);
    expect(interrupted?.status).toBe('running');
    const resumedFrom = Number(interrupted?.rows_read);
    expect(resumedFrom).toBeLessThan(3002);
    const resumed = await runCli(
      ['backfill', '--table', 'work_orders', '--chunk-size', '500'],
      env,
    );
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('resuming the backfill from its last committed chunk');
    expect(resumed.stderr).toContain(`"rowsRead":${resumedFrom}`);
    expect(await progressOf(dbs)).toEqual({ status: 'done', rows_read: '3002' });
    await expectCrmEqualsMes(dbs);
    const restarted = await runCli(
      ['backfill', '--table', 'work_orders', '--chunk-size', '1000', '--restart'],
      env,
    );
    expect(restarted.code, restarted.stderr).toBe(0);
    expect(restarted.stderr).not.toContain('resuming the backfill');
    expect(await progressOf(dbs)).toEqual({ status: 'done', rows_read: '3002' });
  }, 180_000);

  it('a second backfill of the same to-crm mapping exits 3 while the first runs, and runs once it ends', async () => {
    // Holding the progress table pauses the first backfill before its first chunk.
    const blocker = new pg.Client(pgClientConfig({ url: dbs.crmUrl }));
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table millrace.backfill_progress in exclusive mode');
    const first = startCli(['backfill', '--table', 'work_orders', '--restart'], env);
    const firstDone = finished(first);
    let second: ChildProcess | undefined;
    try {
      await waitFor('the first backfill to wait on the progress table', () =>
        backfillWaitsOnLock(dbs),
      );
      second = startCli(['backfill', '--table', 'work_orders'], env);
      const refused = await within(finished(second), 30_000);
      expect(refused?.code, refused?.stderr).toBe(3);
      const lines = refused!.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^millrace: another millrace backfill is already copying the to-crm mapping 'work_orders' into ${dbs.crmName} \\(PostgreSQL backend \\d+\\); wait for it to finish or stop it, then run this again \\(it resumes\\)$`,
        ),
      );
    } finally {
      await blocker.query('rollback');
      await blocker.end();
      second?.kill('SIGKILL');
    }
    const ran = await firstDone;
    expect(ran.code, ran.stderr).toBe(0);
    const again = await runCli(['backfill', '--table', 'work_orders'], env);
    expect(again.code, again.stderr).toBe(0);
    expect(await progressOf(dbs)).toEqual({ status: 'done', rows_read: '3002' });
  }, 120_000);

  it('online: a backfill beside the running return stream, under MES updates, ends with the CRM equal to the MES', async () => {
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    await dbs.pg.query("update mes_work_order set status = 'STALE', qty_scrapped = 9");
    let writing = true;
    const writes = (async () => {
      // Each row is changed once at most, walking down the keys while the chunks walk up, so a
      // chunk that wrote a row older than the stream's copy would leave it stale for good.
      for (let round = 0; writing; round++) {
        const top = 3100 - round * 5;
        await dbs.mysql.query(
          `update work_order set qty_produced = qty_produced + 1, status = 'IN_PROGRESS'
             where id between ${top - 4} and ${top}`,
        );
        if (round % 5 === 0) await addWorkOrders(dbs, 10);
        if (round % 7 === 0) await dbs.mysql.query(`delete from work_order where id = ${top - 2}`);
        // A steady stream of changes, not a flood the machine's other work must share.
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    try {
      const result = await runCli(
        ['backfill', '--table', 'work_orders', '--chunk-size', '200', '--restart'],
        env,
      );
      expect(result.code, result.stderr).toBe(0);
    } finally {
      writing = false;
      await writes;
    }
    await waitForWorkOrders(dbs, run);
    await expectCrmEqualsMes(dbs);
    const stopped = await stopRun(run);
    expect(stopped.code, stopped.stderr).toBe(0);
    run = undefined;
  }, 180_000);
});
