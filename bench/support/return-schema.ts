import type { WorkloadStatements } from './paced-workload.js';

/**
 * The return path's bench table: a work order as the MES keeps it (the reference
 * migrations/20240101000005_work_order.mjs, with a bigint key and the steady state's `probe`),
 * and the CRM copy it lands in through a `direction: to-crm` mapping. Same name on both sides.
 */
export const workOrderTable = 'bench_work_order';

const workOrderStatuses = ['PLANNED', 'RELEASED', 'IN_PROGRESS', 'DONE', 'CANCELLED'] as const;

export const mesWorkOrderDdl = `
  create table bench_work_order (
    id bigint not null primary key,
    crm_order_id int not null,
    status enum(${workOrderStatuses.map((status) => `'${status}'`).join(', ')}) not null,
    planned_start datetime(6) not null,
    planned_finish datetime(6) not null,
    qty_planned decimal(16, 3) not null,
    qty_produced decimal(16, 3) not null,
    resource_code varchar(16) null,
    probe bigint null,
    updated_at datetime(6) not null
  ) engine = InnoDB default charset = utf8mb4 collate utf8mb4_unicode_ci`;

/** The CRM copy; `probe` is indexed for the visibility poller. */
export const crmWorkOrderDdl = `
  create table bench_work_order (
    work_order_id bigint primary key,
    sale_order_id integer not null,
    status varchar(16) not null,
    planned_start timestamptz(6) not null,
    planned_finish timestamptz(6) not null,
    qty_planned numeric(16, 3) not null,
    qty_produced numeric(16, 3) not null,
    work_center varchar(16),
    probe bigint,
    updated_at timestamptz(6) not null
  );
  create index bench_work_order_probe on bench_work_order (probe)`;

export const returnMappingYaml = `name: bench_work_orders
direction: to-crm
source: bench_work_order
target: public.bench_work_order
key:
  work_order_id: id
columns:
  sale_order_id: crm_order_id
  status: status
  planned_start: planned_start
  planned_finish: planned_finish
  qty_planned: qty_planned
  qty_produced: qty_produced
  work_center: resource_code
  probe: probe
  updated_at: updated_at
onDelete: delete
`;

/** One new work order's values, in column order, as a MariaDB tuple. */
function workOrderTuple(key: number, probe: number | null): string {
  return `(${key}, ${key % 100_000}, '${workOrderStatuses[key % 5]}', '2026-01-01' + interval ${key} second, '2026-01-01 08:00:00' + interval ${key} second, ${key % 1000}.500, 0, 'WC-${key % 50}', ${probe ?? 'null'}, now(6))`;
}

/** The paced workload's statements on the MES's bench_work_order (return steady state). */
export const workOrderStatements: WorkloadStatements = {
  insert: (key, probe) => `insert into bench_work_order values ${workOrderTuple(key, probe)}`,
  update: (key, probe) =>
    `update bench_work_order set qty_produced = qty_produced + 1, status = '${workOrderStatuses[probe % 5]}', probe = ${probe}, updated_at = now(6) where id = ${key}`,
  remove: (key) => `delete from bench_work_order where id = ${key}`,
};

/**
 * The queued return workload on one connection: \`n\` transactions of one change each on keys
 * from \`first_id\` (a range of its own), 60 % inserts and 40 % updates of one of its own
 * earlier rows (status and produced quantity, as the plant reports progress), committed one by
 * one. Several connections run it at once so their commits share the log flushes.
 */
export const workOrderChurnProcedure = `
  create procedure bench_wo_churn(n int, first_id bigint)
  begin
    declare i int default 0;
    declare next_id bigint default first_id;
    declare k bigint;
    while i < n do
      if next_id = first_id or rand() < 0.6 then
        start transaction;
        insert into bench_work_order values (next_id, next_id % 100000,
          elt(1 + next_id % 5, ${workOrderStatuses.map((status) => `'${status}'`).join(', ')}),
          '2026-01-01' + interval next_id second, '2026-01-01 08:00:00' + interval next_id second,
          next_id % 1000 + 0.5, 0, concat('WC-', next_id % 50), null, now(6));
        commit;
        set next_id = next_id + 1;
      else
        set k = first_id + floor(rand() * (next_id - first_id));
        start transaction;
        update bench_work_order set qty_produced = qty_produced + 1,
               status = elt(1 + i % 5, ${workOrderStatuses.map((status) => `'${status}'`).join(', ')}),
               updated_at = now(6)
         where id = k;
        commit;
      end if;
      set i = i + 1;
    end while;
  end`;

/** The last queued transaction: a row of its own (key 0) whose arrival on the CRM ends the catch-up. */
export const finishLineInsert = `insert into bench_work_order values ${workOrderTuple(0, -1)}`;

/** Count and sums that must agree between the MES table and its CRM copy after a run. */
export const mesWorkOrderFingerprintSql =
  'select cast(count(*) as char) as n, cast(coalesce(sum(qty_produced), 0) as char) as produced, cast(coalesce(sum(id), 0) as char) as ids from bench_work_order';
export const crmWorkOrderFingerprintSql =
  'select count(*)::text as n, coalesce(sum(qty_produced), 0)::text as produced, coalesce(sum(work_order_id), 0)::text as ids from bench_work_order';
