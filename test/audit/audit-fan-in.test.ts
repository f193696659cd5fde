import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfilledEnv } from '../support/backfilled.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { auditJson, countsOf, mappingOf } from './support.js';

/**
 * Two source tables into one target table, told apart by a const owner column (`kind`): each
 * mapping's audit sees only its own rows, so the other mapping's are neither extra nor counted,
 * and a real difference is still reported under the mapping that owns the row. Once with integer
 * keys (the `range` walk, with digests) and once with text keys (the `lookup` walk).
 */
const crmSchema = `
  create table crm_customer (id int primary key, name text not null);
  create table crm_supplier (id int primary key, name text not null);
  create table crm_customer_contact (code text primary key, name text not null);
  create table crm_supplier_contact (code text primary key, name text not null);
  insert into crm_customer select 2 * i, 'customer ' || i from generate_series(1, 200) i;
  insert into crm_supplier select 2 * i - 1, 'supplier ' || i from generate_series(1, 150) i;
  insert into crm_customer_contact select 'C-' || lpad(i::text, 3, '0'), 'customer ' || i
    from generate_series(1, 200) i;
  insert into crm_supplier_contact select 'S-' || lpad(i::text, 3, '0'), 'supplier ' || i
    from generate_series(1, 150) i;
`;

const mesSchema = [
  `create table stg_partner (
    partner_id int not null primary key, kind varchar(16) not null, name varchar(100)
  )`,
  `create table stg_contact (
    code varchar(16) not null primary key, kind varchar(16) not null, name varchar(100)
  ) default charset utf8mb4 collate utf8mb4_general_ci`,
];

const mappingsYaml = `
- name: customers
  source: public.crm_customer
  target: stg_partner
  key: { partner_id: id }
  columns: { kind: { const: customer }, name: name }
- name: suppliers
  source: public.crm_supplier
  target: stg_partner
  key: { partner_id: id }
  columns: { kind: { const: supplier }, name: name }
- name: customer_contacts
  source: public.crm_customer_contact
  target: stg_contact
  key: { code: code }
  columns: { kind: { const: customer }, name: name }
- name: supplier_contacts
  source: public.crm_supplier_contact
  target: stg_contact
  key: { code: code }
  columns: { kind: { const: supplier }, name: name }
`;

function clean(rows: number) {
  return { sourceRows: rows, targetRows: rows, matched: rows, missing: 0, extra: 0, different: 0 };
}

describe('millrace audit of several mappings into one target table', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_fan_in');
    env = await backfilledEnv(
      dbs,
      { crm: crmSchema, mes: mesSchema, mappings: { 'partners.yaml': mappingsYaml } },
      'fan_in',
    );
  }, 120_000);

  afterAll(async () => {
    await dbs?.drop();
  });

  async function partnersByKind(): Promise<Record<string, number>> {
    const [rows] = await dbs.mysql.query(
      'select kind, count(*) as n from stg_partner group by kind',
    );
    return Object.fromEntries(
      (rows as { kind: string; n: string }[]).map((row) => [row.kind, Number(row.n)]),
    );
  }

  it('is consistent: each mapping counts only the rows it owns', async () => {
    expect(await partnersByKind()).toEqual({ customer: 200, supplier: 150 });
    const { report, result } = await auditJson(env, 0);
    expect(countsOf(report, 'customers')).toEqual(clean(200));
    expect(countsOf(report, 'suppliers')).toEqual(clean(150));
    expect(countsOf(report, 'customer_contacts')).toEqual(clean(200));
    expect(countsOf(report, 'supplier_contacts')).toEqual(clean(150));
    // Both walks are covered: digests settle the range chunks, lookups the text keys.
    expect(result.stderr).toMatch(/"mapping":"suppliers","strategy":"range","hashing":true/);
    expect(result.stderr).toMatch(/"mapping":"supplier_contacts","strategy":"lookup"/);
  }, 60_000);

  it('reports a changed supplier row and a deleted customer row under their own mappings', async () => {
    const q = (sql: string) => dbs.mysql.query(sql);
    await q(`update stg_partner set name = 'tampered' where partner_id = 7`);
    await q('delete from stg_partner where partner_id = 10');
    await q(`update stg_contact set name = 'tampered' where code = 'S-004'`);
    await q(`delete from stg_contact where code = 'C-005'`);

    const { report } = await auditJson(env, 1);
    for (const [name, key, sourceName] of [
      ['customers', { partner_id: '10' }, undefined],
      ['customer_contacts', { code: 'C-005' }, undefined],
      ['suppliers', { partner_id: '7' }, 'supplier 4'],
      ['supplier_contacts', { code: 'S-004' }, 'supplier 4'],
    ] as const) {
      const mapping = mappingOf(report, name);
      const rows = name.startsWith('customer') ? 200 : 150;
      if (sourceName === undefined) {
        expect(countsOf(report, name), name).toEqual({
          ...clean(rows),
          targetRows: rows - 1,
          matched: rows - 1,
          missing: 1,
        });
        expect(mapping.samples).toEqual({ missing: [key], extra: [], different: [] });
      } else {
        expect(countsOf(report, name), name).toEqual({
          ...clean(rows),
          matched: rows - 1,
          different: 1,
        });
        expect(mapping.samples).toEqual({
          missing: [],
          extra: [],
          different: [{ key, columns: { name: { source: sourceName, target: 'tampered' } } }],
        });
      }
    }
  }, 60_000);

  it('repairs only the owning mapping’s rows, and an owned stray row is extra', async () => {
    // A supplier row the CRM never had: extra for suppliers only, removed by the repair.
    await dbs.mysql.query(`insert into stg_partner values (1001, 'supplier', 'stray')`);
    const before = await auditJson(env, 1);
    expect(mappingOf(before.report, 'suppliers').samples.extra).toEqual([{ partner_id: '1001' }]);
    expect(mappingOf(before.report, 'customers').extra).toBe(0);

    const { report } = await auditJson(env, 0, ['--repair']);
    expect(report.consistent).toBe(true);
    expect(await partnersByKind()).toEqual({ customer: 200, supplier: 150 });
    const after = await auditJson(env, 0);
    expect(countsOf(after.report, 'customers')).toEqual(clean(200));
    expect(countsOf(after.report, 'suppliers')).toEqual(clean(150));
  }, 90_000);
});
