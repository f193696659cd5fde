import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/audit/run-audit.js';
import { silentLogger } from '../../src/log/logger.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  type RunningCli,
  replicationEnv,
  stopRun,
  uniqueName,
  waitFor,
} from '../support/replication.js';
import {
  endReturnTest,
  migrateWorkOrders,
  startReturnRun,
  waitForWorkOrders,
  workOrderMappings,
  workOrdersBothSides,
} from '../support/return-path.js';
import { audit, auditJson, countsOf, mappingOf } from './support.js';

/** A second to-crm table with the value families the work orders lack: JSON and a CRM enum. */
const gadgetMes = `create table gadget (
  id int primary key, price decimal(12,4) not null, seen datetime(6) not null, doc json,
  tier enum('bronze','silver','gold') not null) engine=InnoDB`;
const gadgetCrm = `
  create type gadget_tier as enum ('bronze', 'silver', 'gold');
  create table mes_gadget (id bigint primary key, price numeric(12,4) not null,
    seen timestamp(6) not null, doc jsonb, tier gadget_tier not null, synced timestamptz)`;
const gadgetMapping = `name: gadgets
direction: to-crm
source: gadget
target: public.mes_gadget
key:
  id: id
columns:
  price: price
  seen: seen
  doc: doc
  tier: tier
onDelete: delete
metadata: { syncedAt: synced }
`;

/** Text keys: the two databases may order them differently, so they are compared whole. */
const partMes = `create table part (code varchar(20) primary key, label varchar(40)) engine=InnoDB`;
const partCrm = 'create table mes_part (code text primary key, label text)';
const partMapping = `name: parts
direction: to-crm
source: part
target: public.mes_part
key:
  code: code
columns:
  label: label
`;

/** A filter and soft deletes: rows outside the filter and flagged rows are not live rows. */
const toolMes = `create table tool (id int primary key, name varchar(20), active tinyint(1) not null) engine=InnoDB`;
const toolCrm = `create table mes_tool (id bigint primary key, name text, is_deleted boolean,
  deleted_at timestamptz)`;
const toolMapping = `name: tools
direction: to-crm
source: tool
target: public.mes_tool
key:
  id: id
columns:
  name: name
filter:
  active: { eq: 1 }
onDelete: soft
softDelete: { flag: is_deleted, at: deleted_at }
`;

const insertWorkOrder = `insert into work_order
  (id, crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
  values (?, ?, ?, ?, ?, ?, ?, ?)`;

async function crmCount(dbs: TestDatabases, table: string): Promise<number> {
  const { rows } = await dbs.pg.query<{ n: string }>(`select count(*)::text as n from ${table}`);
  return Number(rows[0]?.n);
}

describe('millrace audit on to-crm mappings (MES -> CRM)', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  let env: NodeJS.ProcessEnv;
  const stream = uniqueName('crmaudit');
  const mappings = workOrderMappings({
    'gadgets.yaml': gadgetMapping,
    'parts.yaml': partMapping,
    'tools.yaml': toolMapping,
  });

  beforeAll(async () => {
    dbs = await createTestDatabases('crm audit');
    await migrateWorkOrders(dbs);
    await dbs.mysql.query(gadgetMes);
    await dbs.pg.query(gadgetCrm);
    await dbs.mysql.query(partMes);
    await dbs.pg.query(partCrm);
    await dbs.mysql.query(toolMes);
    await dbs.pg.query(toolCrm);
    env = replicationEnv(dbs, stream, mappings, { MILLRACE_LOG_LEVEL: 'warn' });
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    for (let id = 1; id <= 6; id++) {
      await dbs.mysql.query(insertWorkOrder, [
        id,
        100 + id,
        id % 2 === 0 ? 'RELEASED' : 'PLANNED',
        `2026-01-0${id} 03:04:05.123456`,
        `2026-01-0${id} 23:59:59.999999`,
        `${id}234.567`,
        '0.001',
        id === 3 ? null : `WC-${id}`,
      ]);
    }
    await dbs.mysql.query(
      `insert into gadget values
         (1, 12.5, '2026-02-01 10:00:00.000001', '{"b": [1, 2], "a": "x"}', 'gold'),
         (2, -0.0001, '1999-12-31 23:59:59.999999', null, 'bronze'),
         (3, 99999999.9999, '2026-02-03 00:00:00', '"just text"', 'silver')`,
    );
    await dbs.mysql.query(
      "insert into part values ('a-2', 'lower'), ('B', 'upper'), ('_x', 'underscore'), ('Z9', null)",
    );
    await dbs.mysql.query("insert into tool values (1, 'drill', 1), (2, 'saw', 1), (3, 'old', 0)");
    await waitForWorkOrders(dbs, run);
    await waitFor(
      'the gadgets on the CRM',
      async () => (await crmCount(dbs, 'mes_gadget')) === 3,
      60_000,
    );
    await waitFor(
      'the parts on the CRM',
      async () => (await crmCount(dbs, 'mes_part')) === 4,
      60_000,
    );
    await waitFor(
      'the tools on the CRM',
      async () => (await crmCount(dbs, 'mes_tool')) === 2,
      60_000,
    );
  }, 180_000);

  afterAll(() => endReturnTest(dbs, run, stream));

  it('exits 0 on a consistent pair while the stream runs, naming direction and strategy', async () => {
    const { report } = await auditJson(env, 0);
    expect(report.consistent).toBe(true);
    for (const name of ['work_orders', 'gadgets', 'parts']) {
      const mapping = mappingOf(report, name);
      expect(mapping.direction).toBe('to-crm');
      expect(mapping.strategy).toBe('typed-join');
    }
    expect(countsOf(report, 'work_orders')).toEqual({
      sourceRows: 6,
      targetRows: 6,
      matched: 6,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(countsOf(report, 'gadgets').matched).toBe(3);
    const text = await audit([], env);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/MES read position \S+\.\d+:\d+/);
    expect(text.stdout).toContain(`the to-crm stream '${stream}' runs`);
    expect(text.stdout).toContain('consistent: 4 mappings match');
  });

  it('names exactly the broken keys and columns, in every format', async () => {
    await stopRun(run!);
    run = undefined;
    const pg = dbs.pg;
    await pg.query('delete from mes_work_order where work_order_id = 2');
    await pg.query(
      `insert into mes_work_order (work_order_id, sale_order_id, status, planned_start, planned_finish,
         qty_planned, qty_produced, qty_scrapped, work_center, updated_at)
       values (77, 1, 'PLANNED', now(), now(), 1, 0, 0, null, now())`,
    );
    await pg.query(
      'update mes_work_order set qty_planned = qty_planned + 0.001 where work_order_id = 4',
    );
    await pg.query(
      `update mes_work_order set planned_start = planned_start + interval '1 microsecond' where work_order_id = 5`,
    );
    await pg.query(`update mes_gadget set doc = '{"a": "x", "b": [1, 3]}' where id = 1`);
    await pg.query(`update mes_gadget set tier = 'silver' where id = 2`);
    await pg.query(`delete from mes_part where code = 'B'`);
    await pg.query(`update mes_part set label = 'LOWER' where code = 'a-2'`);
    await pg.query(`insert into mes_part values ('b', 'not on the MES')`);
    // Flagged as deleted: absent (missing); outside the filter but live: extra; flagged: not there.
    await pg.query('update mes_tool set is_deleted = true, deleted_at = now() where id = 2');
    await pg.query(`insert into mes_tool values (3, 'old', false, null), (9, 'gone', true, now())`);

    const { report } = await auditJson(env, 1);
    expect(report.consistent).toBe(false);
    const orders = mappingOf(report, 'work_orders');
    expect(countsOf(report, 'work_orders')).toEqual({
      sourceRows: 6,
      targetRows: 6,
      matched: 3,
      missing: 1,
      extra: 1,
      different: 2,
    });
    expect(orders.samples.missing).toEqual([{ work_order_id: '2' }]);
    expect(orders.samples.extra).toEqual([{ work_order_id: '77' }]);
    expect(orders.samples.different).toEqual([
      {
        key: { work_order_id: '4' },
        columns: { qty_planned: { source: '4234.567', target: '4234.568' } },
      },
      {
        key: { work_order_id: '5' },
        columns: {
          planned_start: {
            source: '2026-01-05 03:04:05.123456+00',
            target: '2026-01-05 03:04:05.123457+00',
          },
        },
      },
    ]);
    const gadgets = mappingOf(report, 'gadgets');
    expect(gadgets.samples.missing).toEqual([]);
    expect(gadgets.samples.extra).toEqual([]);
    expect(gadgets.samples.different).toEqual([
      {
        key: { id: '1' },
        columns: {
          doc: { source: '{"a": "x", "b": [1, 2]}', target: '{"a": "x", "b": [1, 3]}' },
        },
      },
      { key: { id: '2' }, columns: { tier: { source: 'bronze', target: 'silver' } } },
    ]);

    expect(countsOf(report, 'parts')).toEqual({
      sourceRows: 4,
      targetRows: 4,
      matched: 2,
      missing: 1,
      extra: 1,
      different: 1,
    });
    expect(mappingOf(report, 'parts').samples).toEqual({
      missing: [{ code: 'B' }],
      extra: [{ code: 'b' }],
      different: [
        { key: { code: 'a-2' }, columns: { label: { source: 'lower', target: 'LOWER' } } },
      ],
    });

    expect(countsOf(report, 'tools')).toEqual({
      sourceRows: 2,
      targetRows: 2,
      matched: 1,
      missing: 1,
      extra: 1,
      different: 0,
    });
    expect(mappingOf(report, 'tools').samples.missing).toEqual([{ id: '2' }]);
    expect(mappingOf(report, 'tools').samples.extra).toEqual([{ id: '3' }]);

    const text = await audit(['--table', 'gadgets'], env);
    expect(text.code).toBe(1);
    expect(text.stdout).toContain(`no run replicates the to-crm stream '${stream}'`);
    expect(text.stdout).toContain('gadgets: different (2):');
    expect(text.stdout).toContain('tier: source bronze, target silver');
    expect(text.stdout).not.toContain('work_orders');
    for (const format of ['markdown', 'html']) {
      const result = await audit(['--format', format, '--table', 'work_orders'], env);
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('work_order_id=77');
      expect(result.stdout).toContain('MES read position');
    }
  });

  it('compares key range by key range, with the same findings', async () => {
    // Two rows per chunk: ranges (0,2], (2,4], (4,6], then the open range past the last MES key,
    // which holds the extra CRM row 77.
    const outcome = await runAudit({
      sourceUrl: dbs.crmUrl,
      targetUrl: dbs.mesUrl,
      mappingsDir: mappings,
      slot: stream,
      tables: ['work_orders'],
      samples: 20,
      settleTimeoutMs: 10_000,
      repair: false,
      dryRun: false,
      connectTimeoutMs: 5_000,
      logger: silentLogger(),
      chunkSize: 2,
      record: false,
    });
    const orders = outcome.report.mappings[0]!;
    expect(orders).toMatchObject({ matched: 3, missing: 1, extra: 1, different: 2 });
    expect(orders.samples.missing).toEqual([{ work_order_id: '2' }]);
    expect(orders.samples.extra).toEqual([{ work_order_id: '77' }]);
    expect(orders.samples.different.map((sample) => sample.key)).toEqual([
      { work_order_id: '4' },
      { work_order_id: '5' },
    ]);
  });

  it('plans a repair with --dry-run and writes nothing', async () => {
    const before = await workOrdersBothSides(dbs);
    const result = await audit(['--repair', '--dry-run'], env);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toContain(
      'work_orders: would upsert 1 missing and 2 different, would delete 1, would soft-delete 0',
    );
    expect(result.stdout).toContain('gadgets: would upsert 0 missing and 2 different');
    expect(result.stdout).toContain('delete work_order_id=77 (extra)');
    expect(await workOrdersBothSides(dbs)).toEqual(before);
  });

  it('reports a difference that outlives the running stream as confirmed', async () => {
    run = await startReturnRun(['--direction', 'to-crm'], dbs, stream, mappings);
    // A MES change the stream carries while the audit runs is not a difference.
    await dbs.mysql.query("update work_order set status = 'DONE' where id = 6");
    const result = await audit(['--table', 'work_orders', '--settle-timeout', '20'], env);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /re-checked after it passed the audit's MES read position \(\d+ resolved once it caught up, 4 confirmed\)/,
    );
    expect(result.stdout).toContain(
      'DIFFERENCES in 1 of 1 mappings: 1 missing, 1 extra, 2 different',
    );
  });

  it('repairs exactly the differences beside the running stream, then audits consistent', async () => {
    const result = await audit(['--repair', '--format', 'json'], env);
    expect(result.code, `${result.stderr}\n${result.stdout}`).toBe(0);
    await waitForWorkOrders(dbs, run);
    const { rows } = await dbs.pg.query<{ id: string; doc: string; tier: string }>(
      'select id::text as id, doc::text as doc, tier::text as tier from mes_gadget order by id',
    );
    expect(rows.slice(0, 2)).toEqual([
      { id: '1', doc: '{"a": "x", "b": [1, 2]}', tier: 'gold' },
      { id: '2', doc: null, tier: 'bronze' },
    ]);
    const { report } = await auditJson(env, 0);
    expect(report.consistent).toBe(true);
  });
});
