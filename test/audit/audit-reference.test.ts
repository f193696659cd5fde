import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditReportSchema } from '../../src/audit/audit-report.js';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { uniqueName } from '../support/replication.js';
import {
  audit,
  auditJson,
  countsOf,
  mappingOf,
  readText,
  renderInChromium,
  tempFile,
} from './support.js';

/**
 * The audit against the reference example (test/fixtures, mappings/, migrations/): the MES is
 * loaded by `millrace backfill`, then single rows and cells are broken on the MES, and the audit
 * must name exactly those, in every report form, and repair exactly those.
 */
describe('millrace audit on the reference example', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_ref');
    await loadCrmFixture(dbs.pg, 200);
    await migrateReferenceStaging(dbs);
    env = cliEnv({
      CRM_DATABASE_URL: dbs.crmUrl,
      MES_DATABASE_URL: dbs.mesUrl,
      MILLRACE_MAPPINGS: referenceMappingsDir,
      // No replicator on this slot: differences are reported as read, without waiting.
      MILLRACE_SLOT: uniqueName('audit'),
      MILLRACE_LOG_LEVEL: 'warn',
    });
    const backfill = await runCli(['backfill'], env);
    expect(backfill.code, backfill.stderr).toBe(0);
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  async function auditRuns(): Promise<{ consistent: number; report: string }[]> {
    const [rows] = await dbs.mysql.query(
      'select consistent, report from millrace_audit_runs order by id',
    );
    return rows as { consistent: number; report: string }[];
  }

  let baseline: Record<string, ReturnType<typeof countsOf>>;

  it('exits 0 on a consistent pair, prints JSON and records the run', async () => {
    const { report } = await auditJson(env, 0);
    expect(report.consistent).toBe(true);
    expect(report.mappings.map((mapping) => mapping.name)).toEqual([
      'materials',
      'customers',
      'customer_contacts',
      'production_order_lines',
      'production_orders',
      // The return path's mapping, audited beside the others; the fixture has no work orders.
      'work_orders',
    ]);
    baseline = {};
    for (const mapping of report.mappings) {
      baseline[mapping.name] = countsOf(report, mapping.name);
      if (mapping.direction !== 'to-crm') expect(mapping.sourceRows).toBeGreaterThan(0);
      expect(mapping).toMatchObject({
        targetRows: mapping.sourceRows,
        matched: mapping.sourceRows,
        missing: 0,
        extra: 0,
        different: 0,
        samples: { missing: [], extra: [], different: [] },
      });
    }
    // The report's whole object, field for field.
    expect(Object.keys(report)).toEqual(['consistent', 'startedAt', 'finishedAt', 'mappings']);
    expect(Object.keys(report.mappings[0]!)).toEqual([
      'name',
      'source',
      'target',
      'sourceRows',
      'targetRows',
      'matched',
      'missing',
      'extra',
      'different',
      'samples',
      'strategy',
      'strategyReason',
    ]);
    // Each reference to-mes mapping has a rule SQL does not render, and the report says which;
    // the to-crm one is compared in PostgreSQL as typed values.
    for (const mapping of report.mappings.filter((each) => each.direction !== 'to-crm')) {
      expect(mapping.strategy, mapping.name).toBe('rows');
      expect(mapping.strategyReason, mapping.name).toBeTruthy();
    }
    expect(mappingOf(report, 'work_orders')).toMatchObject({
      direction: 'to-crm',
      strategy: 'typed-join',
    });
    expect(mappingOf(report, 'production_order_lines').strategyReason).toMatch(
      /^the filter on customer_lead \(float8\)/,
    );
    expect(mappingOf(report, 'production_orders')).toMatchObject({
      source: 'public.sale_order',
      target: 'stg_production_order',
      sourceRows: 120,
    });
    const runs = await auditRuns();
    expect(runs).toHaveLength(1);
    expect(runs[0]!.consistent).toBe(1);
    expect(auditReportSchema.parse(JSON.parse(runs[0]!.report))).toEqual(report);

    const text = await audit([], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('consistent: 6 mappings match');
  });

  it('finds injected missing, extra and different rows and single cells exactly, and nothing else', async () => {
    const q = (sql: string, values: unknown[] = []) => dbs.mysql.query(sql, values);
    // production_orders (onDelete: delete): order 2 is a confirmed sale, 3 done, 4 cancelled.
    await q('delete from stg_production_order where crm_order_id = 2');
    await q(
      `insert into stg_production_order (crm_order_id, order_ref, customer_id, state, ordered_at, amount_total, currency, priority, label, source_system)
       values (900001, 'GONE', 1, 'PLANNED', '2024-01-01', 1, 'EUR', 'normal', 'x', 'CRM'),
              (4, 'S00004', 1, 'PLANNED', '2024-01-01', 1, 'EUR', 'normal', 'x', 'CRM')`,
    );
    await q(`update stg_production_order set state = 'PLANNED' where crm_order_id = 3`);
    // customers (onDelete: soft): one cell each.
    await q('update stg_customer set credit_limit = 1000.51 where crm_partner_id = 1');
    await q(`update stg_customer set tags = '["vip","crm"]' where crm_partner_id = 4`);
    await q(
      `update stg_customer set crm_created_at = '2023-01-01 05:00:06.172836' where crm_partner_id = 5`,
    );
    await q(`update stg_customer set customer_name = ? where crm_partner_id = 28`, [
      'Person 28 Müller 🏗',
    ]);
    // Soft-deleted on the MES while the CRM still has it: absent, so missing.
    await q('update stg_customer set is_deleted = 1 where crm_partner_id = 8');
    // The same JSON written with other spacing is not a difference.
    await q(`update stg_customer set tags = '[ "crm" , "vip" ]' where crm_partner_id = 12`);
    // materials (onDelete: ignore): one byte of a LONGBLOB, and history kept on purpose.
    await q(
      `update stg_material set image = unhex('E5DA3B7FBBCE2345D7772B0674A318D5') where crm_product_id = 5`,
    );
    await q(
      `insert into stg_material (crm_product_id, material_no, description, uom, base_price, is_active, material_group)
       values (900002, 'OLD', 'old', 'PCE', 1, 1, 'misc')`,
    );
    // customer_contacts: partner 1 is a company, outside this mapping's filter.
    await q(
      `insert into stg_customer_contact (crm_contact_id, contact_name) values (1, 'not a contact')`,
    );

    const { report } = await auditJson(env, 1);
    expect(report.consistent).toBe(false);
    const base = (name: string) => baseline[name]!;
    expect(countsOf(report, 'production_orders')).toEqual({
      sourceRows: base('production_orders').sourceRows,
      targetRows: base('production_orders').targetRows + 1,
      matched: base('production_orders').matched - 2,
      missing: 1,
      extra: 2,
      different: 1,
    });
    expect(mappingOf(report, 'production_orders').samples).toEqual({
      missing: [{ crm_order_id: '2' }],
      extra: [{ crm_order_id: '4' }, { crm_order_id: '900001' }],
      different: [
        {
          key: { crm_order_id: '3' },
          columns: { state: { source: 'COMPLETED', target: 'PLANNED' } },
        },
      ],
    });
    expect(countsOf(report, 'customers')).toEqual({
      sourceRows: base('customers').sourceRows,
      targetRows: base('customers').targetRows - 1,
      matched: base('customers').matched - 5,
      missing: 1,
      extra: 0,
      different: 4,
    });
    expect(mappingOf(report, 'customers').samples).toEqual({
      missing: [{ crm_partner_id: '8' }],
      extra: [],
      different: [
        {
          key: { crm_partner_id: '1' },
          columns: { credit_limit: { source: '1000.50', target: '1000.51' } },
        },
        {
          key: { crm_partner_id: '4' },
          columns: { tags: { source: '["crm","vip"]', target: '["vip","crm"]' } },
        },
        {
          key: { crm_partner_id: '5' },
          columns: {
            crm_created_at: {
              source: '2023-01-01 05:00:06.172835',
              target: '2023-01-01 05:00:06.172836',
            },
          },
        },
        {
          key: { crm_partner_id: '28' },
          columns: {
            customer_name: { source: 'Person 28 Müller 🏭', target: 'Person 28 Müller 🏗' },
          },
        },
      ],
    });
    expect(countsOf(report, 'materials')).toEqual({
      ...base('materials'),
      targetRows: base('materials').targetRows + 1,
      matched: base('materials').matched - 1,
      different: 1,
    });
    expect(mappingOf(report, 'materials').samples.different).toEqual([
      {
        key: { crm_product_id: '5' },
        columns: {
          image: {
            source: 'e4da3b7fbbce2345d7772b0674a318d5',
            target: 'e5da3b7fbbce2345d7772b0674a318d5',
          },
        },
      },
    ]);
    expect(countsOf(report, 'customer_contacts')).toEqual({
      ...base('customer_contacts'),
      targetRows: base('customer_contacts').targetRows + 1,
      extra: 1,
    });
    expect(mappingOf(report, 'customer_contacts').samples.extra).toEqual([{ crm_contact_id: '1' }]);
    expect(countsOf(report, 'production_order_lines')).toEqual(base('production_order_lines'));

    const runs = await auditRuns();
    expect(runs.at(-1)!.consistent).toBe(0);
    expect(JSON.parse(runs.at(-1)!.report)).toEqual(report);
  });

  it('--samples caps the samples, not the counts', async () => {
    const { report } = await auditJson(env, 1, [
      '--samples',
      '1',
      '--table',
      'customers',
      '--table',
      'stg_production_order',
    ]);
    expect(report.mappings.map((mapping) => mapping.name)).toEqual([
      'customers',
      'production_orders',
    ]);
    expect(mappingOf(report, 'customers').different).toBe(4);
    expect(mappingOf(report, 'customers').samples.different).toHaveLength(1);
    expect(mappingOf(report, 'production_orders').samples.extra).toEqual([{ crm_order_id: '4' }]);
  });

  it('prints a text summary and the first samples, explaining onDelete: ignore history', async () => {
    const result = await audit([], env);
    expect(result.code).toBe(1);
    const text = result.stdout;
    expect(text).toMatch(
      /production_orders\s+public\.sale_order → stg_production_order\s+120\s+121\s+118\s+1\s+2\s+1\s+DIFFERENT/,
    );
    expect(text).toMatch(/production_order_lines .* OK/);
    expect(text).toContain(
      'materials: 1 target row whose source row was deleted is kept on purpose (onDelete: ignore keeps history); not counted as extra',
    );
    expect(text).toContain('production_orders: missing on the target (1):\n  crm_order_id=2');
    expect(text).toContain(
      'production_orders: extra on the target (2):\n  crm_order_id=4\n  crm_order_id=900001',
    );
    expect(text).toContain('    state: source COMPLETED, target PLANNED');
    expect(text).toContain('    credit_limit: source 1000.50, target 1000.51');
    expect(text).toContain('no replicator active on slot');
    expect(text).toContain('DIFFERENCES in 4 of 6 mappings: 2 missing, 3 extra, 6 different');
  });

  it('prints markdown for a CI comment', async () => {
    const result = await audit(['--format', 'markdown'], env);
    expect(result.code).toBe(1);
    const markdown = result.stdout;
    expect(markdown).toContain('## millrace audit: ❌ differences found');
    expect(markdown).toContain(
      '| Mapping | Source → target | Source rows | Target rows | Matched | Missing | Extra | Different | Status |',
    );
    expect(markdown).toContain(
      '| `production_orders` | `public.sale_order` → `stg_production_order` | 120 | 121 | 118 | 1 | 2 | 1 | ❌ DIFFERENT |',
    );
    expect(markdown).toMatch(/\| `production_order_lines` \|.*\| ✅ OK \|/);
    expect(markdown).toContain(
      '<details><summary>customers: 1 missing, 0 extra, 4 different</summary>',
    );
    expect(markdown).toContain('| `crm_partner_id=1` | `credit_limit` | `1000.50` | `1000.51` |');
    expect(markdown).toContain('**Missing on the target** (1 of 1): `crm_order_id=2`');
  });

  it('writes a self-contained HTML page whose DOM in headless Chromium shows the counts', async () => {
    const file = tempFile('audit.html');
    const result = await audit(['--format', 'html', '--out', file], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `audit report written to ${file}: differences in 4 of 6 mappings`,
    );
    const html = readText(file);
    // Nothing from the network: no external stylesheet, script or image.
    expect(html).not.toMatch(/<(script|link|img)\b/i);
    expect(html).not.toMatch(/\b(src|href)=["']?https?:/i);

    const dom = renderInChromium(file, 'test-artifacts/audit-report.png');
    const row = (name: string) => {
      const match = new RegExp(`<tr data-mapping="${name}">(.*?)</tr>`).exec(dom);
      expect(match, `summary row of ${name}`).not.toBeNull();
      const cells: Record<string, string> = {};
      for (const cell of match![1]!.matchAll(/data-count="(\w+)">(\d+)</g))
        cells[cell[1]!] = cell[2]!;
      return cells;
    };
    expect(row('production_orders')).toEqual({
      sourceRows: '120',
      targetRows: '121',
      matched: '118',
      missing: '1',
      extra: '2',
      different: '1',
    });
    expect(row('customers')).toMatchObject({ missing: '1', extra: '0', different: '4' });
    expect(dom).toContain('id="overall" class="overall bad" data-consistent="false"');
    // The differing cells of the sample rows are highlighted.
    expect(dom).toMatch(/<td class="diff">COMPLETED<\/td>/);
    expect(dom).toMatch(/<td class="diff">PLANNED<\/td>/);
    expect(dom).toContain('<rect class="bar-missing"');
  });

  it('--repair --dry-run prints the plan and changes nothing', async () => {
    const [before] = await dbs.mysql.query(
      'select (select count(*) from stg_production_order) as orders, (select count(*) from stg_customer where is_deleted = 0) as customers',
    );
    const result = await audit(['--repair', '--dry-run'], env);
    expect(result.code).toBe(1);
    const plan = result.stdout;
    expect(plan).toContain('repair plan (--dry-run: nothing written):');
    expect(plan).toContain(
      'production_orders: would upsert 1 missing and 1 different, would delete 2, would soft-delete 0',
    );
    expect(plan).toContain('    upsert crm_order_id=2 (missing)');
    expect(plan).toContain('    delete crm_order_id=900001 (extra)');
    expect(plan).toContain('customers: would upsert 1 missing and 4 different');
    expect(plan).toContain(
      'customer_contacts: would upsert 0 missing and 0 different, would delete 1',
    );
    expect(plan).not.toContain('production_order_lines');
    const [after] = await dbs.mysql.query(
      'select (select count(*) from stg_production_order) as orders, (select count(*) from stg_customer where is_deleted = 0) as customers',
    );
    expect(after).toEqual(before);
    const { report } = await auditJson(env, 1);
    expect(countsOf(report, 'production_orders')).toMatchObject({
      missing: 1,
      extra: 2,
      different: 1,
    });
  });

  it('--repair applies the source truth for exactly the differing keys, then re-checks to consistent', async () => {
    const result = await audit(['--repair', '--format', 'json', '--log-level', 'info'], env);
    expect(result.code, result.stderr).toBe(0);
    const report = auditReportSchema.parse(JSON.parse(result.stdout));
    expect(report.consistent).toBe(true);
    expect(countsOf(report, 'production_orders')).toEqual({
      ...baseline.production_orders,
    });
    // What it changed is logged, key by key.
    expect(result.stderr).toContain('"msg":"repaired"');
    expect(result.stderr).toMatch(
      /"mapping":"production_orders".*"key":\{"crm_order_id":"2"\}.*"action":"upsert"/,
    );

    const { report: again } = await auditJson(env, 0);
    expect(again.consistent).toBe(true);
    const [orders] = await dbs.mysql.query(
      'select crm_order_id, state from stg_production_order where crm_order_id in (2, 3, 4, 900001) order by crm_order_id',
    );
    expect(orders).toEqual([
      { crm_order_id: 2, state: 'RELEASED' },
      { crm_order_id: 3, state: 'COMPLETED' },
    ]);
    const [customer] = await dbs.mysql.query(
      'select is_deleted, deleted_at, credit_limit from stg_customer where crm_partner_id in (1, 8) order by crm_partner_id',
    );
    expect(customer).toEqual([
      { is_deleted: 0, deleted_at: null, credit_limit: '1000.50' },
      { is_deleted: 0, deleted_at: null, credit_limit: null },
    ]);
    // History kept by onDelete: ignore is left alone.
    const [kept] = await dbs.mysql.query(
      'select count(*) as n from stg_material where crm_product_id = 900002',
    );
    expect(Number((kept as { n: number }[])[0]!.n)).toBe(1);
  });

  it('exits 2 on bad usage', async () => {
    expect((await audit(['--dry-run'], env)).code).toBe(2);
    expect((await audit(['--samples', '-1'], env)).code).toBe(2);
    expect((await audit(['--format', 'pdf'], env)).code).toBe(2);
    const unknown = await audit(['--table', 'nope'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--table nope matches no mapping');
  });

  it('exits 3 with one line when a database is unreachable', async () => {
    const result = await audit(
      [
        '--source',
        'postgres://postgres:secret@127.0.0.1:1/crm',
        '--connect-timeout',
        '1',
        '--log-level',
        'error',
      ],
      env,
    );
    expect(result.code).toBe(3);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^millrace: cannot connect to CRM PostgreSQL/);
    expect(result.stderr).not.toContain('secret');
  });
});
