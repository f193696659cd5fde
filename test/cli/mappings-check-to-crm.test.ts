import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { type CliResult, cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * `millrace mappings check` (the built CLI) over a mappings directory holding both directions:
 * the reference to-mes mappings and a to-crm mapping from a MES work-order table (made in this
 * file's MariaDB database) into a CRM table (made in its PostgreSQL database).
 */
let dbs: TestDatabases;
const projects: string[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases('cli_check_to_crm');
  await loadCrmFixture(dbs.pg, 5);
  await migrateReferenceStaging(dbs);
  // Its own work-order table in place of the reference one (same name, other columns).
  await dbs.mysql.query('drop table work_order');
  await dbs.mysql.query(`
    create table work_order (
      id bigint unsigned not null primary key,
      status enum('planned','running','done') not null,
      qty_done decimal(12,3) not null,
      planned_start datetime(6) null,
      note varchar(200) null
    ) character set utf8mb4`);
  await dbs.pg.query(`
    create schema mes_staging;
    create table mes_staging.work_order_progress (
      mes_order_id numeric(20,0) primary key,
      status text not null,
      qty_done numeric(12,3) not null,
      planned_start timestamptz,
      note varchar(40),
      synced_lsn bigint
    );
    create table mes_staging.no_key (mes_order_id numeric(20,0) not null, status text);
  `);
}, 120_000);

afterAll(async () => {
  await dbs?.drop();
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

const toCrm = (target: string, extra = '') => `name: work_orders_back
direction: to-crm
source: work_order
target: ${target}
key: { mes_order_id: id }
columns:
  status: status
  qty_done: qty_done
  planned_start: planned_start
${extra}metadata: { lsn: synced_lsn }
`;

/** The reference mappings plus `work-orders-back.yaml`. */
function project(mapping: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-project-'));
  projects.push(dir);
  cpSync(referenceMappingsDir, path.join(dir, 'mappings'), { recursive: true });
  // This test's own work_order table replaces the reference one, and its mapping the reference's.
  rmSync(path.join(dir, 'mappings', 'work-orders.yaml'));
  writeFileSync(path.join(dir, 'mappings', 'work-orders-back.yaml'), mapping);
  return dir;
}

function millrace(cwd: string, args: readonly string[]): Promise<CliResult> {
  const urls = { CRM_DATABASE_URL: dbs.crmUrl, MES_DATABASE_URL: dbs.mesUrl };
  return runCli(args, cliEnv(urls), cwd);
}

const reference = [
  '✓ materials: public.product_product → stg_material, 11 columns',
  '✓ customers: public.res_partner → stg_customer, 16 columns',
  '✓ customer_contacts: public.res_partner → stg_customer_contact, 7 columns',
  '✓ production_order_lines: public.sale_order_line → stg_production_order_line, 12 columns',
  '✓ production_orders: public.sale_order → stg_production_order, 16 columns',
];

describe('millrace mappings check with to-crm mappings', () => {
  it('checks both directions against both live schemas: exit 0, also with --strict', async () => {
    const dir = project(toCrm('mes_staging.work_order_progress'));
    const result = await millrace(dir, ['mappings', 'check']);
    expect(result.stderr).toBe('');
    expect(result.stdout.trim().split('\n')).toEqual([
      ...reference,
      '✓ work_orders_back: work_order → mes_staging.work_order_progress (to-crm), 5 columns',
      '6 mappings checked: 6 ok, 0 failed; 0 errors, 0 warnings',
    ]);
    expect(result.code).toBe(0);
    expect((await millrace(dir, ['mappings', 'check', '--strict'])).code).toBe(0);
    const json = JSON.parse((await millrace(dir, ['mappings', 'check', '--json'])).stdout) as {
      mappings: { name: string; direction: string; source: string; target: string }[];
    };
    expect(json.mappings.at(-1)).toMatchObject({
      name: 'work_orders_back',
      direction: 'to-crm',
      source: 'work_order',
      target: 'mes_staging.work_order_progress',
    });
  }, 60_000);

  it('fails --strict on a to-crm warning beside clean to-mes mappings, passes without it', async () => {
    const dir = project(toCrm('mes_staging.work_order_progress', '  note: note\n'));
    const plain = await millrace(dir, ['mappings', 'check']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toContain(
      '    warning: mappings/work-orders-back.yaml: work_orders_back: columns.note: varchar(200) into varchar(40): values longer than 40 characters are rejected (line 10)\n',
    );
    const strict = await millrace(dir, ['mappings', 'check', '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toContain(
      '✗ work_orders_back: work_order → mes_staging.work_order_progress (to-crm), 6 columns (1 warning)\n',
    );
    expect(strict.stderr).toBe(
      'millrace: mappings check failed: 1 warning (--strict); fix the mappings or the schemas listed above\n',
    );
  }, 60_000);

  it('exits 2 when the CRM target has no unique key for ON CONFLICT', async () => {
    const result = await millrace(project(toCrm('mes_staging.no_key')), ['mappings', 'check']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      '    error: mappings/work-orders-back.yaml: work_orders_back: key: (mes_order_id) is not the primary key or a unique key of mes_staging.no_key (it has no primary key); upserts need the key to be unique (line 5)\n',
    );
    expect(result.stderr).toBe(
      'millrace: mappings check failed: 4 errors; fix the mappings or the schemas listed above\n',
    );
  }, 60_000);
});
