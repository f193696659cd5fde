import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { type RunningCli, replicationEnv, stopRun, uniqueName } from '../support/replication.js';
import {
  endReturnTest,
  migrateWorkOrders,
  returnCheckpoint,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';

/**
 * `teardown` removes what the return path made on the CRM: the stream's replication origin
 * (cluster-wide) and its checkpoint row; refused while the return stream runs, idempotent after.
 */
describe('teardown of the return path', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const stream = uniqueName('tdr');
  const mappings = workOrderMappings();
  const env = () => replicationEnv(dbs, stream, mappings);

  const originExists = async (name = `millrace_${stream}`) =>
    (await dbs.pg.query('select 1 from pg_replication_origin where roname = $1', [name])).rows
      .length === 1;
  const backfillOrigin = `millrace_${stream}_backfill`;

  beforeAll(async () => {
    dbs = await createTestDatabases('teardown_return');
    await migrateWorkOrders(dbs);
  }, 120_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('is refused while the return stream runs, then drops origin and checkpoint, then finds nothing', async () => {
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    await dbs.mysql.query(
      `insert into work_order (crm_order_id, planned_start, planned_finish, qty_planned)
       values (1, '2026-03-01 08:00:00', '2026-03-01 16:00:00', 5)`,
    );
    await waitForWorkOrders(dbs, run);
    expect(await originExists()).toBe(true);
    expect(await returnCheckpoint(dbs, stream)).toBeDefined();

    // A second return stream is refused by the stream's lock (exit 3), and so is teardown.
    const second = await runCli(['run', '--direction', 'to-crm'], env());
    expect(second.code, second.stderr).toBe(3);
    expect(second.stderr).toContain(`another millrace run replicates the to-crm stream ${stream}`);
    const refused = await runCli(['teardown', '--yes'], env());
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain(`another millrace run replicates the to-crm stream ${stream}`);
    expect(await originExists()).toBe(true);
    expect(await returnCheckpoint(dbs, stream)).toBeDefined();
    expect((await stopRun(run)).code).toBe(0);
    run = undefined;

    // A backfill of the to-crm mapping writes under an origin of its own, which teardown drops too.
    const backfill = await runCli(['backfill', '--table', 'work_orders'], env());
    expect(backfill.code, backfill.stderr).toBe(0);
    expect(await originExists(backfillOrigin)).toBe(true);

    // Read after the stop: while it ran, other databases' binlog traffic moved it on.
    const checkpoint = await returnCheckpoint(dbs, stream);
    const plan = await runCli(['teardown'], env());
    expect(plan.code).toBe(2);
    expect(plan.stdout).toContain(
      `replication origin millrace_${stream} (tags the return path's writes)`,
    );
    expect(plan.stdout).toContain(
      `replication origin ${backfillOrigin} (tags the return path's writes)`,
    );
    expect(plan.stdout).toContain(
      `the return path's checkpoint of ${stream} in millrace.checkpoints (${checkpoint!.binlog_file}:${checkpoint!.binlog_position})`,
    );
    expect(await originExists()).toBe(true);

    const done = await runCli(['teardown', '--yes'], env());
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`dropped replication origin millrace_${stream}\n`);
    expect(done.stdout).toContain(`dropped replication origin ${backfillOrigin}`);
    expect(done.stdout).toContain(
      `removed the return path's checkpoint of ${stream} from millrace.checkpoints`,
    );
    expect(await originExists()).toBe(false);
    expect(await originExists(backfillOrigin)).toBe(false);
    expect(await returnCheckpoint(dbs, stream)).toBeUndefined();

    const again = await runCli(['teardown', '--yes'], env());
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain(
      `no replication origin or checkpoint of the return path ${stream} (nothing to drop)`,
    );
    const planAgain = await runCli(['teardown'], env());
    expect(planAgain.stdout).toContain(
      `return path of ${stream}: no replication origin, no checkpoint, nothing to drop`,
    );

    // The stream lock was given back: a return stream starts again, from the binlog's end.
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    expect((await stopRun(run)).code).toBe(0);
    run = undefined;
  }, 150_000);
});
