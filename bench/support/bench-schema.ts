import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { WorkloadStatements } from './paced-workload.js';

/**
 * The bench's one mapped table: a CRM-like item with the common types millrace converts
 * (bigint key, varchar, text, int, numeric, a mapped status, a nullable bigint, timestamptz),
 * and the MES staging table it lands in. `probe` carries the steady-state latency markers and
 * is indexed on the target so the visibility poller can find them.
 */
export const sourceTable = 'bench_item';
export const targetTable = 'stg_bench_item';
/** Where the raw tools load the same rows, beside millrace's table. */
export const rawTable = 'stg_bench_raw';

export const sourceDdl = `
  create table if not exists bench_item (
    id bigint primary key,
    sku varchar(32) not null,
    name text not null,
    qty integer not null,
    price numeric(12, 2) not null,
    status text not null,
    probe bigint,
    updated_at timestamptz not null
  )`;

/** Target columns in order; the raw loaders write exactly these. */
export const targetColumns = [
  'item_id',
  'sku',
  'name',
  'qty',
  'price',
  'status',
  'probe',
  'updated_at',
] as const;

export function targetDdl(table: string): string {
  return `create table ${table} (
    item_id bigint not null primary key,
    sku varchar(32) not null,
    name varchar(64) not null,
    qty int not null,
    price decimal(12, 2) not null,
    status varchar(16) not null,
    probe bigint null,
    updated_at datetime(6) not null,
    key ${table}_probe (probe)
  ) engine = InnoDB default charset = utf8mb4 collate utf8mb4_unicode_ci`;
}

export const mappingYaml = `name: bench_items
source: public.bench_item
target: stg_bench_item
key:
  item_id: id
columns:
  sku: sku
  name: name
  qty: qty
  price: price
  status:
    from: status
    map: { open: OPEN, released: RELEASED, done: DONE }
    default: OTHER
  probe: probe
  updated_at: updated_at
onDelete: delete
`;

/**
 * The mapped target row computed in PostgreSQL, in target column order (the raw loaders' input):
 * the same value map, timestamps in UTC with microseconds.
 */
export const mappedSelect = `
  select id, sku, name, qty, price,
         case status when 'open' then 'OPEN' when 'released' then 'RELEASED' when 'done' then 'DONE' else 'OTHER' end,
         probe,
         to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')
    from bench_item`;

/** One mapped row as a MySQL tuple literal (values are plain ASCII by construction). */
export const mappedTupleSelect = `
  select format('(%s,%L,%L,%s,%s,%L,%s,%L)', id, sku, name, qty, price,
         case status when 'open' then 'OPEN' when 'released' then 'RELEASED' when 'done' then 'DONE' else 'OTHER' end,
         coalesce(probe::text, 'NULL'),
         to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'))
    from bench_item order by id`;

/**
 * The queued single-row workload: \`n\` transactions of one change each, 50 % inserts, 35 %
 * updates of a random live row, 15 % deletes of the oldest live row (every statement touches
 * exactly one row, so the count of changes is exact), committed one by one inside a procedure.
 */
export const churnProcedure = `
  create or replace procedure bench_churn(n int, first_id bigint) language plpgsql as $$
  declare
    next_id bigint := first_id;
    low bigint := first_id;
    r double precision;
    k bigint;
  begin
    for i in 1..n loop
      r := random();
      if next_id - low < 100 or r < 0.5 then
        insert into bench_item values (next_id, 'SKU-' || next_id, md5(next_id::text), (next_id % 1000)::int,
          (next_id % 100000) / 100.0, (array['open', 'released', 'done'])[1 + next_id % 3], null, clock_timestamp());
        next_id := next_id + 1;
      elsif r < 0.85 then
        k := low + floor(random() * (next_id - low))::bigint;
        update bench_item set qty = qty + 1, price = price + 0.01,
               status = (array['open', 'released', 'done'])[1 + i % 3], updated_at = clock_timestamp()
         where id = k;
      else
        delete from bench_item where id = low;
        low := low + 1;
      end if;
      commit;
    end loop;
  end $$`;

const statuses = ['open', 'released', 'done'] as const;

/** The paced workload's statements on the CRM's bench_item (steady state, to-mes). */
export const itemStatements: WorkloadStatements = {
  insert: (key, probe) =>
    `insert into bench_item values (${key}, 'SKU-${key}', md5('${key}'), ${key % 1000}, ${key % 100_000} / 100.0, '${statuses[key % 3]}', ${probe}, now())`,
  update: (key, probe) =>
    `update bench_item set qty = qty + 1, price = price + 0.01, status = '${statuses[probe % 3]}', probe = ${probe}, updated_at = now() where id = ${key}`,
  remove: (key) => `delete from bench_item where id = ${key}`,
};

/** \`n\` rows in one statement (one transaction), ids from \`first\`. */
export function bulkInsertSql(first: number, n: number): string {
  return `insert into bench_item
    select g, 'SKU-' || g, md5(g::text), (g % 1000)::int, (g % 100000) / 100.0,
           (array['open', 'released', 'done'])[1 + g % 3], null,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 second'
      from generate_series(${first}::bigint, ${first + n - 1}::bigint) as g`;
}

/** Count and sums that must agree between source and target after a run. */
export const sourceFingerprintSql =
  'select count(*)::text as n, coalesce(sum(qty), 0)::text as qty, coalesce(sum(price), 0)::text as price from bench_item';
export function targetFingerprintSql(table: string): string {
  return `select cast(count(*) as char) as n, cast(coalesce(sum(qty), 0) as char) as qty, cast(coalesce(sum(price), 0) as char) as price from ${table}`;
}

/** A temporary mappings directory holding `files` (by default the bench's forward mapping). */
export function writeBenchMappings(
  files: Readonly<Record<string, string>> = { 'bench.yaml': mappingYaml },
): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-bench-mappings-'));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  return dir;
}
