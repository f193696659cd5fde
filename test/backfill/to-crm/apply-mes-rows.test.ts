import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyMesRows } from '../../../src/backfill/to-crm/apply-mes-rows.js';
import { MillraceError } from '../../../src/errors/millrace-error.js';
import { silentLogger } from '../../../src/log/logger.js';
import type { CompiledMapping } from '../../../src/mapping/compiled-mapping.js';
import { connectTarget, type MysqlConnection } from '../../../src/mysql/mysql-client.js';
import { connectSource, type PgClient } from '../../../src/postgres/pg-client.js';
import { currentPosition } from '../../support/binlog-capture.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';
import { uniqueName } from '../../support/replication.js';
import {
  compileReturnMappings,
  dropReturnOrigin,
  migrateWorkOrders,
  workOrderMappings,
  workOrdersBothSides,
} from '../../support/return-path.js';

const insertWorkOrder = `insert into work_order
  (id, crm_order_id, status, planned_start, planned_finish, qty_planned, qty_produced, resource_code)
  values (?, ?, 'RELEASED', '2026-03-01 06:00:00.125', '2026-03-02 14:00:00', ?, 0, ?)`;

/** A CRM row the MES has no counterpart for (or an outdated one). */
const insertCrmRow = `insert into mes_work_order
  (work_order_id, sale_order_id, status, planned_start, planned_finish, qty_planned, qty_produced,
   qty_scrapped, work_center, updated_at)
  values ($1, 1, 'PLANNED', now(), now(), 1, 0, 0, 'OLD', now())`;

describe('applyMesRows: MES rows re-read and applied to the CRM under the checkpoint guard', () => {
  let dbs: TestDatabases;
  let mes: MysqlConnection;
  let crm: PgClient;
  let mapping: CompiledMapping;
  const stream = uniqueName('amr');
  const logger = silentLogger();

  const apply = (
    selection: Parameters<typeof applyMesRows>[1],
    extra: Partial<Parameters<typeof applyMesRows>[0]> = {},
  ) =>
    applyMesRows(
      { mes, crm, mapping, stream, onBadRow: 'deadletter', logger, ...extra },
      selection,
    );

  async function crmIds(): Promise<string[]> {
    const { rows } = await dbs.pg.query<{ id: string }>(
      'select work_order_id::text as id from mes_work_order order by work_order_id',
    );
    return rows.map((row) => row.id);
  }

  beforeAll(async () => {
    dbs = await createTestDatabases('apply_mes_rows');
    await migrateWorkOrders(dbs);
    mapping = (await compileReturnMappings(dbs, workOrderMappings()))[0]!;
    mes = await connectTarget({ url: dbs.mesUrl, timeoutMs: 10_000, logger });
    crm = await connectSource({ url: dbs.crmUrl, timeoutMs: 10_000, logger });
  }, 120_000);

  afterAll(async () => {
    await mes?.end().catch(() => undefined);
    await crm?.end().catch(() => undefined);
    if (dbs) {
      await dropReturnOrigin(dbs, stream);
      await dbs.drop();
    }
  });

  beforeEach(async () => {
    await dbs.mysql.query('delete from work_order');
    await dbs.pg.query('delete from mes_work_order; delete from millrace.dead_letters');
    await dbs.pg.query('delete from millrace.checkpoints');
    for (let id = 1; id <= 6; id++)
      await dbs.mysql.query(insertWorkOrder, [id, 100 + id, `${id}.500`, `WC-${id}`]);
  });

  it('a key range: every MES row lands, CRM rows the MES lacks are deleted, the others outside stay', async () => {
    await dbs.pg.query(insertCrmRow, ['4']);
    await dbs.pg.query(insertCrmRow, ['40']);
    await dbs.pg.query(insertCrmRow, ['-5']);
    const applied = await apply({ range: { after: ['0'], upTo: ['40'] } });
    expect(applied.rows).toHaveLength(6);
    expect(applied.attempts).toBe(1);
    expect(applied.lastKey).toEqual(['6']);
    // 40 is in the range and not on the MES; -5 is outside it.
    expect(await crmIds()).toEqual(['-5', '1', '2', '3', '4', '5', '6']);
    await dbs.pg.query('delete from mes_work_order where work_order_id = -5');
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toEqual(sides.mes);
  });

  it('a limited range stops at its last key and deletes CRM rows only up to it', async () => {
    await dbs.pg.query(insertCrmRow, ['2']);
    await dbs.pg.query(insertCrmRow, ['20']);
    const first = await apply({ range: { limit: 3 } });
    expect(first.lastKey).toEqual(['3']);
    expect(await crmIds()).toEqual(['1', '2', '3', '20']);
    const second = await apply({ range: { after: first.lastKey!, limit: 3 } });
    expect(second.lastKey).toEqual(['6']);
    // A full chunk ends at its last key: 20 is the next chunk's.
    expect(await crmIds()).toEqual(['1', '2', '3', '4', '5', '6', '20']);
    const last = await apply({ range: { after: second.lastKey!, limit: 3 } });
    expect(last.rows).toHaveLength(0);
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toEqual(sides.mes);
  });

  it('a keys list: present keys are written, absent ones deleted, other CRM rows untouched', async () => {
    await apply({ range: {} });
    await dbs.mysql.query("update work_order set status = 'DONE', qty_produced = 2.5 where id = 2");
    await dbs.mysql.query('delete from work_order where id = 3');
    await dbs.mysql.query("update work_order set status = 'CANCELLED' where id = 5");
    await dbs.pg.query(insertCrmRow, ['77']);
    const applied = await apply({ keys: [['2'], ['3'], ['99']] });
    expect(applied.rows).toHaveLength(1);
    // 3 and 99: a delete of a key the CRM lacks removes nothing.
    expect(applied.deleted).toBe(2);
    const { rows } = await dbs.pg.query<{ id: string; status: string }>(
      'select work_order_id::text as id, status from mes_work_order order by work_order_id',
    );
    expect(rows.map((row) => `${row.id} ${row.status}`)).toEqual([
      '1 RELEASED',
      '2 DONE',
      '4 RELEASED',
      '5 RELEASED',
      '6 RELEASED',
      '77 PLANNED',
    ]);
  });

  it('a value the CRM refuses becomes a dead letter of the mapping; the other rows land', async () => {
    await dbs.mysql.query("update work_order set resource_code = 'TOO-LONG-FOR-IT' where id = 4");
    await dbs.pg.query('alter table mes_work_order alter column work_center type varchar(8)');
    try {
      const applied = await apply({ range: {} });
      expect(applied.deadLetters).toBe(1);
      expect(await crmIds()).toEqual(['1', '2', '3', '5', '6']);
      const { rows } = await dbs.pg.query<{ mapping_name: string; key_values: string }>(
        'select mapping_name, key_values from millrace.dead_letters',
      );
      expect(rows).toEqual([{ mapping_name: 'work_orders', key_values: '{"work_order_id":"4"}' }]);
    } finally {
      await dbs.pg.query('alter table mes_work_order alter column work_center type varchar(16)');
    }
  });

  it('the guard: a checkpoint past the snapshot is never written under; at or below it, the rows land', async () => {
    await dbs.pg.query(insertCrmRow, ['2']);
    const end = await currentPosition(dbs.mysql);
    const setCheckpoint = (lsn: bigint) =>
      dbs.pg.query(
        `insert into millrace.checkpoints (stream, lsn, updated_at) values ($1, $2, now())
           on conflict (stream) do update set lsn = excluded.lsn`,
        [stream, lsn.toString()],
      );
    await setCheckpoint(end + (1n << 32n));
    const refused = await apply({ range: {} }, { attempts: 2 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MillraceError);
    expect((refused as MillraceError).code).toBe('BACKFILL_OVERTAKEN');
    // Nothing of the stale snapshot was written: the CRM row is as it was.
    expect(await crmIds()).toEqual(['2']);
    await setCheckpoint(end);
    const applied = await apply({ range: {} });
    expect(applied.attempts).toBe(1);
    expect(applied.snapshot.lsn).toBeGreaterThanOrEqual(end);
    const sides = await workOrdersBothSides(dbs);
    expect(sides.crm).toEqual(sides.mes);
  });

  it('writes under its own replication origin, not the stream’s', async () => {
    await apply({ range: {} });
    const { rows } = await dbs.pg.query<{ roname: string }>(
      'select roname from pg_replication_origin where roname like $1',
      [`millrace_${stream}%`],
    );
    expect(rows.map((row) => row.roname)).toEqual([`millrace_${stream}_backfill`]);
  });
});
