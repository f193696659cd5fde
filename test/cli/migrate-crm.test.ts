import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

const crmStaging = `
export async function up(knex) {
  await knex.raw('create table public.work_order_progress (id bigint primary key, status text)');
}
export async function down(knex) {
  await knex.raw('drop table public.work_order_progress');
}
`;

/** `millrace migrate` with a crm/ directory beside the MES migrations: the return path's tables. */
describe('millrace migrate with migrations/crm/', () => {
  let dbs: TestDatabases;
  let dir: string;

  beforeAll(async () => {
    dbs = await createTestDatabases('migrate_crm');
    dir = mkdtempSync(path.join(tmpdir(), 'millrace-migrations-'));
    mkdirSync(path.join(dir, 'crm'));
    writeFileSync(path.join(dir, 'crm', '20260101000001_work_order_progress.mjs'), crmStaging);
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  it('creates the CRM control tables and runs the CRM staging migrations, once', async () => {
    const env = cliEnv({ CRM_DATABASE_URL: dbs.crmUrl, MES_DATABASE_URL: dbs.mesUrl });
    const first = await runCli(['migrate', '--migrations', dir], env);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('staging tables up to date\n');
    expect(first.stdout).toContain(
      'applied CRM control migrations: 0001_crm_control_tables, 0002_crm_backfill_progress\n',
    );
    expect(first.stdout).toContain(
      'applied CRM staging migrations: 20260101000001_work_order_progress.mjs\n',
    );
    const { rows } = await dbs.pg.query(
      "select to_regclass('millrace.checkpoints')::text as checkpoints, to_regclass('public.work_order_progress')::text as staging",
    );
    expect(rows).toEqual([{ checkpoints: 'millrace.checkpoints', staging: 'work_order_progress' }]);
    const second = await runCli(['migrate', '--migrations', dir], env);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(
      /CRM control tables up to date .*\nCRM staging tables up to date\n$/,
    );
  });
});
