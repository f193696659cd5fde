import { cliEnv } from '../support/cli.js';
import type { TestDatabases } from '../support/databases.js';
import { writeMappings } from '../support/replication.js';
import { sourceAndTarget } from '../support/schemas.js';

/**
 * A small CRM and MES for the backfill tests: a filtered table with a value map and a JSON path,
 * a composite key, an empty table, a soft-deleting mapping, a text key with onDelete: ignore, a
 * table with values that cannot be converted, and a sync marker for catching up with `run`.
 */
export const crmSchema = `
  create table item (
    id bigint primary key, name text not null, qty int, price numeric(14,3),
    state text not null default 'sale', updated_at timestamptz, attrs jsonb, token uuid
  );
  create table line (
    order_id int, line_no int, sku text not null, qty numeric(10,2), primary key (order_id, line_no)
  );
  create table empty_src (id int primary key, v text);
  create table person (id int primary key, name text not null, active boolean not null default true);
  create table tag (code text primary key, label text);
  create table odd (id int primary key, stamp timestamptz);
  create table sync_marker (id int primary key, n int not null);
`;

export const mesSchema = [
  `create table stg_item (
     item_id bigint primary key, name varchar(40), qty int, price decimal(14,3), state varchar(20),
     updated_at datetime(6), priority varchar(20), token char(36),
     _source_lsn bigint unsigned null, _synced_at datetime(6) null
   )`,
  `create table stg_line (
     order_id int not null, line_no int not null, sku varchar(20) not null, qty decimal(10,2),
     primary key (order_id, line_no)
   )`,
  'create table stg_empty (id int primary key, v text)',
  `create table stg_person (
     person_id int primary key, name varchar(40) not null,
     is_deleted tinyint(1) not null default 0, deleted_at datetime(6) null
   )`,
  'create table stg_tag (code varchar(20) primary key, label varchar(40))',
  'create table stg_odd (id int primary key, stamp datetime(6))',
  'create table stg_sync_marker (id int primary key, n int not null)',
];

export const mappingsYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { item_id: id }
  columns:
    name: name
    qty: qty
    price: price
    state: { from: state, map: { sale: RELEASED, done: COMPLETED }, default: PLANNED }
    updated_at: updated_at
    priority: { from: attrs, path: priority, default: normal }
    token: token
  filter:
    state: { notIn: [draft] }
  onDelete: delete
  metadata: { lsn: _source_lsn, syncedAt: _synced_at }
- name: lines
  source: public.line
  target: stg_line
  key: { order_id: order_id, line_no: line_no }
  columns: { sku: sku, qty: qty }
  filter:
    qty: { gt: 0 }
  onDelete: delete
- name: empties
  source: public.empty_src
  target: stg_empty
  key: { id: id }
  columns: { v: v }
- name: people
  source: public.person
  target: stg_person
  key: { person_id: id }
  columns: { name: name }
  filter:
    active: { eq: true }
  onDelete: soft
  softDelete: { flag: is_deleted, at: deleted_at }
- name: tags
  source: public.tag
  target: stg_tag
  key: { code: code }
  columns: { label: label }
  filter:
    label: { isNull: false }
  onDelete: ignore
- name: odds
  source: public.odd
  target: stg_odd
  key: { id: id }
  columns: { stamp: stamp }
- name: marker
  source: public.sync_marker
  target: stg_sync_marker
  key: { id: id }
  columns: { n: n }
`;

/** Every source table the mappings read, for publications. */
export const sourceTables = ['item', 'line', 'empty_src', 'person', 'tag', 'odd', 'sync_marker'];

/** Rows for `item`: ids from..to, every kind of value, some drafts (outside the filter). */
export async function insertItems(dbs: TestDatabases, from: number, to: number): Promise<void> {
  await dbs.pg.query(
    `insert into item (id, name, qty, price, state, updated_at, attrs, token)
     select g,
            case when g % 7 = 0 then 'Café ünï 🚀 ' || g else 'item ' || g end,
            case when g % 5 = 0 then null else g % 1000 end,
            (g * 1.125) % 100000,
            (array['sale', 'done', 'draft', 'sent'])[1 + g % 4],
            timestamptz '2024-03-31 01:59:59.999999+02' + g * interval '1 minute 0.000001 second',
            case when g % 3 = 0 then jsonb_build_object('priority', 'p' || (g % 9)) end,
            md5('t' || g)::uuid
       from generate_series($1::int, $2::int) g`,
    [from, to],
  );
}

/** What each target table must hold, computed from the CRM in SQL, independently of millrace. */
export const expected = {
  items: `
    select id::text as item_id, name, qty::text as qty, price::text as price,
           case state when 'sale' then 'RELEASED' when 'done' then 'COMPLETED' else 'PLANNED' end as state,
           to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as updated_at,
           coalesce(attrs->>'priority', 'normal') as priority, token::text as token
      from item where state <> 'draft' order by id`,
  lines: `
    select order_id::text as order_id, line_no::text as line_no, sku, qty::text as qty
      from line where qty > 0 order by line.order_id, line.line_no`,
  people: `
    select id::text as person_id, name from person where active order by id`,
  tags: `select code, label from tag where label is not null order by code collate "C"`,
};

/** The target side as text; ORDER BY names the column, not the text alias. */
export const actual = {
  items: `
    select cast(item_id as char) as item_id, name, cast(qty as char) as qty,
           cast(price as char) as price, state,
           date_format(updated_at, '%Y-%m-%d %H:%i:%s.%f') as updated_at, priority, token
      from stg_item order by stg_item.item_id`,
  lines: `
    select cast(order_id as char) as order_id, cast(line_no as char) as line_no, sku,
           cast(qty as char) as qty
      from stg_line order by stg_line.order_id, stg_line.line_no`,
  people: `
    select cast(person_id as char) as person_id, name from stg_person where is_deleted = 0
     order by stg_person.person_id`,
  tags: 'select code, label from stg_tag order by cast(code as binary)',
};

export type Table = keyof typeof expected;

/** The target rows of `table` next to the rows the source says it must hold. */
export function compare(
  dbs: TestDatabases,
  table: Table,
): Promise<{ expected: unknown[]; actual: unknown[] }> {
  return sourceAndTarget(dbs, expected[table], actual[table]);
}

export interface BackfillRow {
  mapping_name: string;
  status: string;
  mode: string | null;
  phase: string;
  run_id: string | null;
  rows_read: string;
  rows_copied: string;
  rows_removed: string;
  dead_letters: string;
  prune: number;
  last_key: string | null;
  error: string | null;
}

export async function backfillRows(dbs: TestDatabases): Promise<Map<string, BackfillRow>> {
  const [rows] = await dbs.mysql.query('select * from millrace_backfills order by mapping_name');
  return new Map((rows as BackfillRow[]).map((row) => [row.mapping_name, row]));
}

export async function countOf(dbs: TestDatabases, table: string): Promise<number> {
  const [rows] = await dbs.mysql.query(`select count(*) as n from ${table}`);
  return Number((rows as { n: string }[])[0]!.n);
}

/**
 * The CLI's environment for an offline backfill of `mappings` on the test databases. No slot
 * exists (offline backfills only warn about it).
 */
export function offlineBackfillEnv(
  dbs: TestDatabases,
  mappings: string,
  logLevel: 'info' | 'debug',
): NodeJS.ProcessEnv {
  return cliEnv({
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: writeMappings({ 'mappings.yaml': mappings }),
    MILLRACE_SLOT: 'mrt_no_slot',
    MILLRACE_LOG_LEVEL: logLevel,
  });
}
