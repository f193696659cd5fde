import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfilledEnv } from '../support/backfilled.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { auditJson, countsOf, mappingOf } from './support.js';

/**
 * The digest strategy for mappings with a composite key and a filter: the key's first column cuts
 * the buckets, the other key columns are hashed with the row, and the filter is rendered as SQL on
 * the source, so such a mapping is compared by digests too. A single changed byte in a wide row,
 * a row the filter keeps out but the MES holds, and a missing row are all found. A latin1 column
 * (whose bytes are not UTF-8) is hashed as UTF-8 like the others. A key whose second column is
 * text, which the MES's collation orders otherwise than its bytes, joins rows alike on both sides;
 * a key whose first column leads no index is compared by rows, and says so.
 */
const orders = 600;
const linesPerOrder = 4;

const crmSchema = `
  create type line_state as enum ('open', 'done', 'void');
  create table line (
    order_id bigint not null, pos integer not null, sku varchar(32) not null, qty integer,
    price numeric(12, 2), state line_state not null, urgent boolean, note text,
    created timestamptz not null, due date, wide text not null,
    primary key (order_id, pos)
  );
  insert into line
  select o, p, 'SKU-' || o || '-' || p, case when (o + p) % 11 = 0 then -1 else (o * p) % 50 end,
         (o % 1000) / 4.0, (array['open', 'done', 'void'])[1 + (o + p) % 3]::line_state,
         case when o % 5 = 0 then null else p % 2 = 0 end,
         case when o % 3 = 0 then null else 'note é ' || o end,
         timestamptz '2024-01-01 00:00:00+00' + o * interval '1 hour 1.5 second',
         date '2000-01-01' + o % 200,
         repeat(md5(o::text || p::text) || 'ü', 60)
    from generate_series(1, ${orders}) o, generate_series(1, ${linesPerOrder}) p;
  create table tagged (grp bigint not null, code varchar(8) not null, v integer not null,
                       primary key (grp, code));
  insert into tagged
  select g, c, g * 10 + ascii(c) from generate_series(1, 300) g,
         unnest(array['a', 'B', 'c', 'é', 'f', 'Z', 'ñ', 'o']) c;
`;

const mesSchema = [
  `create table stg_line (
    order_id bigint not null, pos int not null, sku varchar(32) not null, qty int null,
    price decimal(12, 2) null, state varchar(8) not null, urgent tinyint(1) null,
    note varchar(40) character set latin1 null, created datetime(6) not null, due date null, wide varchar(2500) not null,
    primary key (order_id, pos)
  ) default charset utf8mb4 collate utf8mb4_unicode_ci`,
  `create table stg_tagged (grp bigint not null, code varchar(8) not null, v int not null,
    primary key (grp, code)) default charset utf8mb4 collate utf8mb4_unicode_ci`,
  `create table stg_line_by_pos (pos int not null, order_id bigint not null,
    sku varchar(32) not null, primary key (pos, order_id)) default charset utf8mb4`,
];

const mappingsYaml = `
name: lines
source: public.line
target: stg_line
key: { order_id: order_id, pos: pos }
columns:
  sku: sku
  qty: qty
  price: price
  state: state
  urgent: urgent
  note: note
  created: created
  due: due
  wide: wide
filter:
  all:
    - qty: { gte: 0 }
    - state: { notIn: [void] }
    - any:
        - urgent: { eq: true }
        - note: { isNull: true }
        - due: { gt: 2000-03-01 }
    - created: { lt: 2024-02-01T00:00:00Z }
onDelete: delete
`;

const moreYaml = `
- name: tagged
  source: public.tagged
  target: stg_tagged
  key: { grp: grp, code: code }
  columns:
    v: v
- name: lines_by_pos
  source: public.line
  target: stg_line_by_pos
  key: { pos: pos, order_id: order_id }
  columns:
    sku: sku
`;

describe('millrace audit by digests: composite keys and filters', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;
  let passing: number;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_digest_keys');
    env = await backfilledEnv(
      dbs,
      {
        crm: crmSchema,
        mes: mesSchema,
        mappings: { 'lines.yaml': mappingsYaml, 'more.yaml': moreYaml },
      },
      'digestkeys',
    );
    const [counted] = await dbs.mysql.query('select count(*) as n from stg_line');
    passing = Number((counted as { n: number }[])[0]!.n);
  }, 180_000);

  afterAll(async () => {
    await dbs?.drop();
  });

  it('compares the filtered, composite-key mapping by digests and finds it consistent', async () => {
    // The filter keeps some rows out, and some in.
    expect(passing).toBeGreaterThan(100);
    expect(passing).toBeLessThan(orders * linesPerOrder);
    const { report, result } = await auditJson(env, 0);
    expect(mappingOf(report, 'lines').strategy).toBe('digest');
    expect(countsOf(report, 'lines')).toEqual({
      sourceRows: passing,
      targetRows: passing,
      matched: passing,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(result.stderr).toMatch(/"mapping":"lines",.*"rowChunks":0,"comparedBy":"digest"/);
    expect(countsOf(report, 'tagged')).toMatchObject({ matched: 2_400, different: 0 });
    expect(result.stderr).toMatch(/"mapping":"tagged",.*"rowChunks":0,"comparedBy":"digest"/);
    expect(mappingOf(report, 'lines_by_pos').strategy).toBe('rows');
    expect(mappingOf(report, 'lines_by_pos').strategyReason).toMatch(/index that leads with pos/);
    expect(mappingOf(report, 'lines_by_pos').matched).toBe(orders * linesPerOrder);
  }, 120_000);

  it('finds one changed byte in a wide row, a row the filter keeps out, and a missing row', async () => {
    const [rows] = await dbs.mysql.query(
      'select order_id, pos from stg_line order by order_id, pos limit 3 offset 40',
    );
    const [changed, gone] = rows as { order_id: number; pos: number }[];
    // One byte in the middle of 2,000 characters: an ASCII hex digit becomes another.
    await dbs.mysql.query(
      `update stg_line set wide = concat(left(wide, 1000),
         if(substr(wide, 1001, 1) = 'a', 'b', 'a'), substr(wide, 1002))
       where order_id = ? and pos = ?`,
      [changed!.order_id, changed!.pos],
    );
    await dbs.mysql.query('delete from stg_line where order_id = ? and pos = ?', [
      gone!.order_id,
      gone!.pos,
    ]);
    // A line the filter keeps out (void), written to the MES anyway.
    const [voided] = await dbs.pg
      .query<{ order_id: string; pos: number }>(
        "select order_id::text, pos from line where state = 'void' and qty >= 0 order by 1, 2 limit 1",
      )
      .then((result) => result.rows);
    await dbs.mysql.query(
      `insert into stg_line (order_id, pos, sku, state, created, wide)
       values (?, ?, 'x', 'VOID', '2024-01-01 00:00:00', 'w')`,
      [voided!.order_id, voided!.pos],
    );

    const { report } = await auditJson(env, 1);
    const lines = mappingOf(report, 'lines');
    expect(lines.strategy).toBe('digest');
    expect(countsOf(report, 'lines')).toEqual({
      sourceRows: passing,
      targetRows: passing,
      matched: passing - 2,
      missing: 1,
      extra: 1,
      different: 1,
    });
    expect(lines.samples.different).toEqual([
      {
        key: { order_id: String(changed!.order_id), pos: String(changed!.pos) },
        columns: { wide: expect.anything() },
      },
    ]);
    expect(lines.samples.missing).toEqual([
      { order_id: String(gone!.order_id), pos: String(gone!.pos) },
    ]);
    expect(lines.samples.extra).toEqual([{ order_id: voided!.order_id, pos: String(voided!.pos) }]);
  }, 120_000);
});
