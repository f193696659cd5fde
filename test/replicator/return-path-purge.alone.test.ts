import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBinlogFiles } from '../../src/mysql/binlog/binlog-files.js';
import { encodeBinlogPosition } from '../../src/mysql/binlog/binlog-position.js';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  type RunningCli,
  replicationEnv,
  stopRun,
  uniqueName,
  waitFor,
} from '../support/replication.js';
import {
  connectMarkedSession,
  crmWriteLog,
  endReturnTest,
  migrateWorkOrders,
  returnCheckpoint,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';

/**
 * Purges the shared server's older binlog files, so it runs alone, after every other test file
 * (vitest.config.ts): a stream stopped in another test would otherwise find its file gone.
 */

const insertWorkOrder = (crmOrder: number) =>
  `insert into work_order (crm_order_id, planned_start, planned_finish, qty_planned)
   values (${crmOrder}, '2026-07-01 08:00:00', '2026-07-01 16:00:00', 1)`;

describe('the return checkpoint when the MES binlog holds only what the return path leaves out', () => {
  let dbs: TestDatabases | undefined;
  let run: RunningCli | undefined;
  const stream = uniqueName('retpurge');
  const mappings = workOrderMappings();

  beforeAll(async () => {
    dbs = await createTestDatabases('return_purge');
    await migrateWorkOrders(dbs);
    await dbs.pg.query(crmWriteLog);
    await dbs.mysql.query('create table scratch (id int primary key, n int) engine=InnoDB');
  }, 120_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('follows the binlog into its newest file, so a purge of the older ones loses nothing', async () => {
    const db = dbs!;
    run = await startReturnRun(['--direction', 'to-crm'], db, stream, mappings);
    await db.mysql.query(insertWorkOrder(1));
    await waitForWorkOrders(db, run);
    const start = (await returnCheckpoint(db, stream))!;

    // millrace's own kind of write (marked skip_replication): the server sends none of it.
    const marked = await connectMarkedSession(db.mesUrl);
    try {
      for (let round = 0; round < 3; round++) {
        await marked.query(
          `insert into scratch values ${Array.from({ length: 50 }, (_, i) => `(${round * 50 + i}, ${round})`).join(', ')}`,
        );
        await marked.query('update scratch set n = n + 1');
        await db.mysql.query('flush binary logs');
      }
    } finally {
      await marked.end();
    }
    const newest = (await listBinlogFiles(db.mysql)).at(-1)!;
    const newestStart = encodeBinlogPosition({ fileIndex: newest.index, offset: 4 });
    await waitFor(
      'the return checkpoint to reach the newest binlog file',
      async () => (await returnCheckpoint(db, stream))!.lsn >= newestStart,
      20_000,
    ).catch((error: unknown) => {
      throw new Error(
        `${String(error)}: it stayed at ${start.binlog_file}:${start.binlog_position} (newest ${newest.name})`,
      );
    });
    const moved = (await returnCheckpoint(db, stream))!;
    expect(moved.binlog_file).toBe(newest.name);
    expect(moved.gtid).toBe(start.gtid);

    // status: the checkpoint is in the newest file, a few bytes behind at most.
    const status = await runCli(['status', '--json'], replicationEnv(db, stream, mappings));
    const returnPath = JSON.parse(status.stdout).returnPath;
    expect(returnPath.checkpoint).toMatchObject({ file: newest.name, purged: false });
    const sinceNewest = (await listBinlogFiles(db.mysql))
      .filter((file) => file.index >= newest.index)
      .reduce((sum, file) => sum + file.size, 0);
    expect(returnPath.checkpoint.bytesBehind).toBeLessThanOrEqual(sinceNewest);

    expect((await stopRun(run)).code).toBe(0);
    run = undefined;
    await db.mysql.query(`purge binary logs to '${newest.name}'`);
    const held = (await listBinlogFiles(db.mysql)).map((file) => file.name);
    expect(held, 'the file the checkpoint was in is purged').not.toContain(start.binlog_file);

    // A mapped change after the purge: the restarted run resumes and applies it once.
    const { rows: last } = await db.pg.query<{ seq: number }>(
      'select coalesce(max(seq), 0)::int as seq from wo_writes',
    );
    const before = last[0]?.seq;
    await db.mysql.query(insertWorkOrder(2));
    run = await startReturnRun(['--direction', 'to-crm'], db, stream, mappings);
    await waitForWorkOrders(db, run);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { rows: writes } = await db.pg.query(
      'select op, id::text from wo_writes where seq > $1 order by seq',
      [before],
    );
    const [[inserted]] = (await db.mysql.query(
      'select id from work_order where crm_order_id = 2',
    )) as unknown as [[{ id: number }]];
    expect(writes).toEqual([{ op: 'INSERT', id: String(inserted.id) }]);
    expect(run.output()).not.toContain('BINLOG_PURGED');
  }, 180_000);
});
