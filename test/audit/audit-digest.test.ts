import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfilledEnv } from '../support/backfilled.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { auditJson, countsOf, mappingOf } from './support.js';

/**
 * The digest strategy end to end: a backfilled pair is consistent by digests alone, and with
 * about 1% of the rows broken on the MES (deleted, changed in one cell, added under new keys,
 * soft-deleted) the audit finds exactly those rows and cells, as the row-by-row path would.
 * A mapping whose rule has no exact SQL rendering (upper) is compared by rows and says so.
 */
const rows = 3_000;

const crmSchema = `
  create type tier as enum ('gold', 'silver', 'bronze');
  create table item (
    id bigint primary key, sku varchar(32) not null, name text, qty integer not null,
    price numeric(12, 2), status text, probe bigint, seen_at timestamptz, due date,
    active boolean, token uuid, rank tier, note text
  );
  insert into item
  select g, 'SKU-' || g, case when g % 7 = 0 then null else 'ñame ' || md5(g::text) || ' 😀' end,
         g % 1000 - 500, (g % 100000) / 100.0 - 100, (array['open', 'released', 'done', 'odd'])[1 + g % 4],
         case when g % 3 = 0 then null else g::bigint * 1000003 end,
         timestamptz '2024-01-01 00:00:00+00' + g * interval '1.000001 second',
         date '2000-01-01' + g, g % 2 = 0, md5(g::text)::uuid,
         (array['gold', 'silver', 'bronze'])[1 + g % 3]::tier,
         case when g % 5 = 0 then null else E' \\t note ' || g || ' ' end
    from generate_series(1, ${rows}) g;
`;

const mesSchema = [
  `create table stg_item (
    item_id bigint not null primary key, sku varchar(32) not null, name varchar(80) null,
    qty int not null, price decimal(14, 3) null, status varchar(16) null, probe bigint null,
    seen_at datetime(6) null, due date null, active tinyint(1) null, token char(36) null,
    rank enum('gold', 'silver', 'bronze') null, note varchar(20) null, label varchar(64) null,
    origin varchar(8) not null, is_deleted tinyint(1) not null default 0
  ) default charset utf8mb4 collate utf8mb4_unicode_ci`,
  `create table stg_item_upper (item_id bigint not null primary key, sku varchar(32) not null)
   default charset utf8mb4 collate utf8mb4_unicode_ci`,
];

const mappingsYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { item_id: id }
  columns:
    sku: sku
    name: name
    qty: qty
    price: price
    status: { from: status, map: { open: OPEN, released: RELEASED, done: DONE }, default: OTHER }
    probe: { from: probe, default: "0" }
    seen_at: seen_at
    due: due
    active: active
    token: token
    rank: rank
    note: { from: note, transform: [trim, { truncate: 12 }] }
    label: { template: "{sku}/{qty}" }
    origin: { const: CRM }
  onDelete: soft
  softDelete: { flag: is_deleted }
- name: items_upper
  source: public.item
  target: stg_item_upper
  key: { item_id: id }
  columns:
    sku: { from: sku, transform: [upper] }
`;

describe('millrace audit by digests', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_digest');
    env = await backfilledEnv(
      dbs,
      { crm: crmSchema, mes: mesSchema, mappings: { 'items.yaml': mappingsYaml } },
      'digest',
    );
  }, 180_000);

  afterAll(async () => {
    await dbs?.drop();
  });

  it('finds a backfilled pair consistent by digests, and says which mapping used rows', async () => {
    const { report, result } = await auditJson(env, 0);
    expect(countsOf(report, 'items')).toEqual({
      sourceRows: rows,
      targetRows: rows,
      matched: rows,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(mappingOf(report, 'items').strategy).toBe('digest');
    expect(mappingOf(report, 'items_upper').strategy).toBe('rows');
    expect(mappingOf(report, 'items_upper').strategyReason).toMatch(/^sku: upper differs/);
    expect(mappingOf(report, 'items').strategyReason).toBeUndefined();
    expect(mappingOf(report, 'items_upper').matched).toBe(rows);
    // Every bucket matched: no row was read to compare.
    expect(result.stderr).toMatch(/"mapping":"items",.*"rowChunks":0,"comparedBy":"digest"/);
    expect(result.stderr).toMatch(/"mapping":"items_upper",.*"comparedBy":"rows","why":"sku: /);
  }, 120_000);

  it('finds exactly the rows and cells broken on purpose', async () => {
    const q = (sql: string) => dbs.mysql.query(sql);
    // Missing: deleted, and soft-deleted (which counts as absent).
    await q('delete from stg_item where item_id % 100 = 1');
    await q('update stg_item set is_deleted = 1 where item_id = 2500');
    // Different, one cell each, of several types; one NULL against a value.
    await q('update stg_item set qty = qty + 1 where item_id % 100 = 51');
    await q('update stg_item set seen_at = seen_at + interval 1 microsecond where item_id = 52');
    await q("update stg_item set name = concat(name, ' ') where item_id = 53");
    await q('update stg_item set note = null where item_id = 54');
    await q("update stg_item set status = 'OPEN' where item_id = 55 and status <> 'OPEN'");
    // Extra: beyond the source's keys, below them, and in a gap made on the source.
    await q(
      `insert into stg_item (item_id, sku, qty, origin)
       values (${rows + 10}, 'x', 1, 'CRM'), (-4, 'y', 2, 'CRM'), (1, 'z', 3, 'CRM')`,
    );
    // Key 1 is replaced by another row (different); key 1001 goes from both sides (nothing).
    await dbs.pg.query('delete from item where id = 1001');

    const { report } = await auditJson(env, 1, ['--samples', '100']);
    const items = mappingOf(report, 'items');
    expect(items.strategy).toBe('digest');
    const missing = Array.from({ length: rows / 100 }, (_, i) => String(i * 100 + 1))
      .filter((id) => id !== '1' && id !== '1001')
      .concat('2500');
    const differentQty = Array.from({ length: rows / 100 }, (_, i) => String(i * 100 + 51));
    expect(items.samples.missing.map((key) => key.item_id).sort()).toEqual(missing.sort());
    expect(items.samples.extra.map((key) => key.item_id).sort()).toEqual(
      ['-4', String(rows + 10)].sort(),
    );
    const different = Object.fromEntries(
      items.samples.different.map((sample) => [sample.key.item_id, Object.keys(sample.columns)]),
    );
    for (const id of differentQty) expect(different[id]).toEqual(['qty']);
    expect(different['52']).toEqual(['seen_at']);
    expect(different['53']).toEqual(['name']);
    expect(different['54']).toEqual(['note']);
    expect(different['55']).toEqual(['status']);
    expect(different['1']).toBeDefined();
    expect(items.different).toBe(differentQty.length + 5);
    expect(items.missing).toBe(missing.length);
    expect(items.extra).toBe(2);
    expect(items.sourceRows).toBe(rows - 1);
  }, 120_000);
});
