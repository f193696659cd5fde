/**
 * The demo's plant: while the CRM workload runs, the reference MES plans work orders for the
 * production orders millrace brought over and reports progress on them, so the return path
 * (mappings/work-orders.yaml, direction to-crm) has the MES's answer to carry back to the CRM.
 */
import type mysql from 'mysql2/promise';
import type pg from 'pg';

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One plant step: plan a released order, move a running one on, or finish one. */
async function plantStep(mes: mysql.Connection): Promise<number> {
  const roll = Math.random();
  if (roll < 0.4) {
    const [result] = await mes.query(
      `insert into work_order (crm_order_id, status, planned_start, planned_finish, qty_planned, resource_code)
       select p.crm_order_id, 'PLANNED', now(6) + interval 1 day, now(6) + interval 3 day,
              round(1 + rand() * 99, 3), concat('WC-', 1 + floor(rand() * 6))
         from stg_production_order p left join work_order w on w.crm_order_id = p.crm_order_id
        where p.state = 'RELEASED' and w.id is null
        order by p.crm_order_id desc limit 1`,
    );
    return (result as { affectedRows: number }).affectedRows;
  }
  const [result] = await mes.query(
    roll < 0.9
      ? `update work_order set status = 'IN_PROGRESS', qty_produced = least(qty_planned, qty_produced + round(rand() * 10, 3)),
                qty_scrapped = qty_scrapped + if(rand() < 0.1, 1, 0), updated_at = now(6)
          where status in ('PLANNED', 'RELEASED', 'IN_PROGRESS') order by rand() limit 1`
      : `update work_order set status = 'DONE', qty_produced = qty_planned, updated_at = now(6)
          where status = 'IN_PROGRESS' order by rand() limit 1`,
  );
  return (result as { affectedRows: number }).affectedRows;
}

/** Runs plant steps about every `everyMs` until `endAt` (performance.now()); returns MES rows changed. */
export async function runPlant(
  mes: mysql.Connection,
  endAt: number,
  everyMs = 50,
): Promise<number> {
  let changed = 0;
  while (performance.now() < endAt) {
    changed += await plantStep(mes);
    await pause(everyMs);
  }
  return changed;
}

/**
 * Waits until the CRM holds the MES's work orders as they are now (same rows, same progress),
 * then returns a few of them next to the sale orders they belong to.
 */
export async function awaitWorkOrders(
  mes: mysql.Connection,
  crm: pg.Client,
  timeoutMs = 120_000,
): Promise<{ seconds: number; rows: number; sample: string[] }> {
  const started = performance.now();
  const [expected] = await mes.query(
    'select count(*) as n, coalesce(sum(qty_produced), 0) as produced from work_order',
  );
  const want = (expected as { n: number; produced: string }[])[0]!;
  for (;;) {
    const { rows } = await crm.query<{ n: string; produced: string }>(
      'select count(*) as n, coalesce(sum(qty_produced), 0) as produced from mes_work_order',
    );
    const have = rows[0]!;
    if (Number(have.n) === Number(want.n) && Number(have.produced) === Number(want.produced)) break;
    if (performance.now() - started > timeoutMs) {
      throw new Error(
        `the CRM has ${have.n} work orders, the MES ${want.n}, after ${timeoutMs / 1000} s`,
      );
    }
    await pause(100);
  }
  const { rows: sample } = await crm.query<Record<string, string>>(
    `select so.name, so.state, w.status, to_char(w.planned_start, 'YYYY-MM-DD HH24:MI') as planned_start,
            w.qty_produced || ' of ' || w.qty_planned as produced, w.work_center
       from mes_work_order w join sale_order so on so.id = w.sale_order_id
      order by w.updated_at desc limit 5`,
  );
  return {
    seconds: (performance.now() - started) / 1000,
    rows: Number(want.n),
    sample: sample.map(
      (row) =>
        `${row.name} (${row.state}): work order ${row.status}, planned start ${row.planned_start}, produced ${row.produced} on ${row.work_center}`,
    ),
  };
}
