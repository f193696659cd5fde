import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  encodeBinlogPosition,
  parseBinlogFileName,
} from '../../src/mysql/binlog/binlog-position.js';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  type RunningCli,
  replicationEnv,
  stopRun,
  uniqueName,
  writeMappings,
} from '../support/replication.js';
import {
  crmWriteLog,
  endReturnTest,
  migrateWorkOrders,
  returnCheckpoint,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
} from '../support/return-path.js';

const insertWorkOrder = `insert into work_order
  (crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
  values (?, ?, ?, ?, ?, ?, ?)`;

async function writesSince(dbs: TestDatabases, seq: number): Promise<string[]> {
  const { rows } = await dbs.pg.query<{ w: string }>(
    `select op || ' ' || id as w from wo_writes where seq > $1 order by seq`,
    [seq],
  );
  return rows.map((row) => row.w);
}

async function lastWrite(dbs: TestDatabases): Promise<number> {
  const { rows } = await dbs.pg.query<{ seq: string }>(
    'select coalesce(max(seq), 0)::text as seq from wo_writes',
  );
  return Number(rows[0]?.seq);
}

/** MES work order ids by their CRM order. */
async function workOrderIds(dbs: TestDatabases): Promise<Map<number, number>> {
  const [rows] = await dbs.mysql.query('select crm_order_id, id from work_order');
  return new Map(
    (rows as { crm_order_id: number; id: number }[]).map((r) => [r.crm_order_id, r.id]),
  );
}

describe('the return path (MES work orders -> CRM), run --direction to-crm', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const stream = uniqueName('ret');
  const mappings = workOrderMappings();

  beforeAll(async () => {
    dbs = await createTestDatabases('return');
    await migrateWorkOrders(dbs);
    await dbs.pg.query(crmWriteLog);
  }, 120_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('carries every change kind and value exactly, checkpoints, and resumes after a stop', async () => {
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    const my = dbs.mysql;
    // Insert (microseconds, exact decimals, an enum, utf8mb4 with a 4-byte character), NULL.
    await my.query(insertWorkOrder, [
      101,
      'RELEASED',
      '2026-01-02 03:04:05.123456',
      '2026-01-02 23:59:59.999999',
      '1234567890123.567',
      '0.001',
      'Zürich-🏭-3',
    ]);
    await my.query(insertWorkOrder, [
      102,
      'PLANNED',
      '1999-12-31 00:00:00.000001',
      '2038-01-19 03:14:08.500000',
      '-0.500',
      '7.000',
      null,
    ]);
    // Multi-row insert.
    await my.query(
      `insert into work_order (crm_order_id, planned_start, planned_finish, qty_planned, resource_code)
       values (103, '2026-03-01 08:00:00', '2026-03-01 16:00:00', 1, 'A'),
              (104, '2026-03-02 08:00:00', '2026-03-02 16:00:00', 2, 'B'),
              (105, '2026-03-03 08:00:00', '2026-03-03 16:00:00', 3, 'C')`,
    );
    await waitForWorkOrders(dbs, run);
    const first = await returnCheckpoint(dbs, stream);
    expect(first).toBeDefined();

    // Update (into NULL and out of it), delete, a multi-statement transaction, a rollback.
    await my.query(
      `update work_order set status = 'IN_PROGRESS', qty_produced = 3.141, resource_code = null
        where crm_order_id = 101`,
    );
    await my.query(`update work_order set resource_code = 'ÆØÅ-日本' where crm_order_id = 102`);
    await my.query('delete from work_order where crm_order_id = 104');
    await my.query('begin');
    await my.query(insertWorkOrder, [
      106,
      'DONE',
      '2026-04-01 00:00:00.5',
      '2026-04-02 00:00:00.25',
      9,
      9,
      'T',
    ]);
    await my.query(
      `update work_order set qty_scrapped = 0.25, status = 'CANCELLED' where crm_order_id = 103`,
    );
    await my.query('delete from work_order where crm_order_id = 105');
    await my.query('commit');
    await my.query('begin');
    await my.query(insertWorkOrder, [
      999,
      'DONE',
      '2026-04-01 00:00:00',
      '2026-04-02 00:00:00',
      1,
      1,
      'RB',
    ]);
    await my.query('update work_order set qty_planned = 0 where crm_order_id = 101');
    await my.query('delete from work_order where crm_order_id = 102');
    await my.query('rollback');
    await my.query(`update work_order set qty_planned = 42.042 where crm_order_id = 106`);
    await waitForWorkOrders(dbs, run);
    const { rows: rolledBack } = await dbs.pg.query(
      `select 1 from mes_work_order where sale_order_id = 999 or qty_planned = 0`,
    );
    expect(rolledBack).toEqual([]);
    const { rows: synced } = await dbs.pg.query(
      'select count(*)::int as n from mes_work_order where _synced_at is null',
    );
    expect(synced).toEqual([{ n: '0' }]);

    // The checkpoint moved on, and its file, offset and encoded position agree.
    const second = await returnCheckpoint(dbs, stream);
    expect(second!.lsn).toBeGreaterThan(first!.lsn);
    const file = parseBinlogFileName(second!.binlog_file);
    expect(file).toBeDefined();
    expect(
      encodeBinlogPosition({ fileIndex: file!.index, offset: Number(second!.binlog_position) }),
    ).toBe(second!.lsn);
    expect(second!.gtid).toMatch(/^\d+-\d+-\d+$/);

    // SIGTERM: exit 0; changes made while stopped arrive once after the restart, nothing else.
    expect((await stopRun(run)).code).toBe(0);
    const stoppedAt = await lastWrite(dbs);
    const ids = await workOrderIds(dbs);
    await my.query(insertWorkOrder, [
      107,
      'PLANNED',
      '2026-05-01 00:00:00',
      '2026-05-01 01:00:00',
      5,
      0,
      'S',
    ]);
    await my.query(`update work_order set status = 'RELEASED' where crm_order_id = 106`);
    await my.query('delete from work_order where crm_order_id = 103');
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    await waitForWorkOrders(dbs, run);
    const inserted = (await workOrderIds(dbs)).get(107);
    // One batch may order writes of different keys its own way: compared as a set, each once.
    expect((await writesSince(dbs, stoppedAt)).sort()).toEqual(
      [`INSERT ${inserted}`, `UPDATE ${ids.get(106)}`, `DELETE ${ids.get(103)}`].sort(),
    );
    expect((await returnCheckpoint(dbs, stream))!.lsn).toBeGreaterThan(second!.lsn);
  }, 240_000);

  it('loses nothing when the MES rotates its binlog mid-stream', async () => {
    run ??= await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    const before = (await returnCheckpoint(dbs, stream))!;
    const my = dbs.mysql;
    const slot = (crm: number) => [
      crm,
      'PLANNED',
      '2026-06-01 00:00:00.000007',
      '2026-06-02 00:00:00',
      crm,
      0,
      'R',
    ];
    await my.query(insertWorkOrder, slot(201));
    await my.query('flush binary logs');
    await my.query(insertWorkOrder, slot(202));
    await my.query(`update work_order set qty_produced = 1.5 where crm_order_id = 201`);
    await my.query('flush binary logs');
    await my.query('delete from work_order where crm_order_id = 202');
    await my.query(insertWorkOrder, slot(203));
    await waitForWorkOrders(dbs, run);
    const after = (await returnCheckpoint(dbs, stream))!;
    expect(parseBinlogFileName(after.binlog_file)!.index).toBeGreaterThanOrEqual(
      parseBinlogFileName(before.binlog_file)!.index + 2,
    );
    expect((await stopRun(run)).code).toBe(0);
    run = undefined;
  }, 120_000);

  it('refuses --direction to-crm without a to-crm mapping: exit 2, one line', async () => {
    const forwardOnly = writeMappings({
      'm.yaml': `
name: items
source: public.item
target: stg_item
key: { item_id: id }
columns: { label: label }
`,
    });
    const result = await runCli(
      ['run', '--direction', 'to-crm'],
      replicationEnv(dbs, stream, forwardOnly),
    );
    expect(result.code).toBe(2);
    const lines = result.stderr.trim().split('\n');
    expect(lines, result.stderr).toHaveLength(1);
    expect(lines[0]).toContain('direction: to-crm');
  }, 60_000);
});
