import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCrmFixture } from '../fixtures/crm-fixture.js';
import { type CliResult, cliEnv, runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  startRun,
  uniqueName,
  waitFor,
  waitForReplicating,
} from '../support/replication.js';

/**
 * `millrace mappings scaffold` as a new user runs it: scaffold, migrate, check --strict, then
 * replicate and audit what was scaffolded.
 */
let dbs: TestDatabases;
const projects: string[] = [];
const slots: string[] = [];

/** One table with a column of every type family the values module converts. */
const familiesSql = `
create schema fam;
create type fam.mood as enum ('sad', 'ok', 'it''s fine');
create domain fam.code as varchar(12);
create table fam.everything (
  id bigint primary key,
  i2 smallint not null, i4 integer, i8 bigint, o oid,
  num numeric(12,3), frac numeric(2,3), free numeric,
  f4 real, f8 double precision,
  flag boolean not null,
  vc varchar(40), ch char(5), txt text not null, nm name, code fam.code,
  d date, ts timestamp, ts3 timestamp(3), tstz timestamptz not null, t time, ttz timetz,
  u uuid, j json, jb jsonb, ints integer[], texts text[],
  bin bytea, m fam.mood, iv interval, ip inet, cash money, bits bit(8), rng int4range,
  xml_col xml
);
create table fam.by_index (a integer not null, b text not null, note text);
create unique index by_index_ab on fam.by_index (a, b);
alter table fam.by_index replica identity using index by_index_ab;
create table fam.keyless (a integer, b text);`;

const familyRow = (id: number) => `(${id}, ${id}, -${id}, ${id}000000000, ${id},
  ${id}.125, 0.012, 123456789012345678901234567890.${id},
  1.5, ${id}.25e-3, ${id % 2 === 0}, 'vc ${id} é', 'ab', 'text 😀 ${id}', 'name${id}', 'C-${id}',
  '2024-02-${10 + id}', '2024-02-01 10:00:00.123456', '2024-02-01 10:00:00.123',
  '2024-02-01 10:00:00.654321+02', '23:59:59.5', '10:00:00+05:30',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1${id}', '{"a": [1, 2.50]}', '{"b": {"c": null}}',
  '{1,NULL,3}', '{"x y",z}', '\\x00ff${id}0', 'it''s fine', '1 day 02:00', '10.0.0.${id}/32',
  12.34, B'1010101${id % 2}', '[1,${id + 5})', '<a>${id}</a>')`;

beforeAll(async () => {
  dbs = await createTestDatabases('cli_mappings_scaffold');
  await loadCrmFixture(dbs.pg, 5);
  await dbs.pg.query(familiesSql);
}, 120_000);

afterAll(async () => {
  for (const slot of slots) await dropReplication(dbs, slot).catch(() => undefined);
  await dbs?.drop();
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
}, 60_000);

function project(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-scaffold-'));
  projects.push(dir);
  return dir;
}

/** Runs the CLI in `cwd` with the test databases in the environment. */
function millrace(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  const urls = { CRM_DATABASE_URL: dbs.crmUrl, MES_DATABASE_URL: dbs.mesUrl };
  return runCli(args, cliEnv({ ...urls, ...env }), cwd);
}

/** migrate, then mappings check --strict: both exit 0, and the check has nothing to say. */
async function migrateAndCheck(dir: string): Promise<void> {
  // Each project has its own migrations: knex refuses a history naming files it cannot find.
  await dbs.mysql.query('drop table if exists knex_migrations, knex_migrations_lock');
  const migrate = await millrace(dir, ['migrate']);
  expect(migrate.stderr).toBe('');
  expect(migrate.code).toBe(0);
  const check = await millrace(dir, ['mappings', 'check', '--strict']);
  expect(check.stdout).toMatch(/0 errors, 0 warnings/);
  expect(check.stdout).not.toMatch(/warning:|error:/);
  expect(check.code).toBe(0);
}

describe('millrace mappings scaffold', () => {
  it('scaffolds the reference CRM (a partition through its root) so that check --strict passes', async () => {
    const dir = project();
    const tables = ['public.res_partner', 'public.product_product', 'public.sale_order'];
    const result = await millrace(dir, [
      'mappings',
      'scaffold',
      ...tables,
      'public.sale_order_line_p2',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('public.sale_order_line → stg_sale_order_line, key id');
    expect(result.stdout.trim().split('\n').at(-1)).toBe(
      'next: millrace migrate && millrace mappings check --strict',
    );
    expect(readdirSync(path.join(dir, 'mappings')).sort()).toEqual([
      'product_product.yaml',
      'res_partner.yaml',
      'sale_order.yaml',
      'sale_order_line.yaml',
    ]);
    const migration = readdirSync(path.join(dir, 'migrations')).find((file) =>
      file.endsWith('_stg_res_partner.mjs'),
    )!;
    const text = readFileSync(path.join(dir, 'migrations', migration), 'utf8');
    expect(text).toContain(
      `table.specificType("company_type", "ENUM('person','company')").notNullable();`,
    );
    expect(text).toContain(`table.specificType("credit_limit", "DECIMAL(14,2)").nullable();`);
    expect(text).toContain(`table.specificType("create_date", "DATETIME(6)").notNullable();`);
    expect(text).toContain(`table.specificType("email", "VARCHAR(254)").nullable();`);
    await migrateAndCheck(dir);
  }, 120_000);

  it('scaffolds every type family; run and audit agree on the rows', async () => {
    const dir = project();
    const result = await millrace(dir, [
      'mappings',
      'scaffold',
      'fam.everything',
      'fam.by_index',
      '--prefix',
      'fam_',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('fam.by_index → fam_by_index, key a, b');
    // An unbounded text key cannot be a MySQL key as LONGTEXT: the scaffold says what it chose.
    expect(result.stdout).toMatch(/note: key column b \(text\) is VARCHAR\(384\)/);
    rmSync(path.join(dir, 'mappings', 'fam_by_index.yaml'));
    await migrateAndCheck(dir);
    const name = uniqueName('scaffold');
    slots.push(name);
    await createReplication(dbs, name, ['fam.everything']);
    const env = { MILLRACE_SLOT: name, MILLRACE_PUBLICATION: name };
    let run: RunningCli | undefined;
    try {
      run = startRun(
        ['--heartbeat', '1'],
        cliEnv({
          CRM_DATABASE_URL: dbs.crmUrl,
          MES_DATABASE_URL: dbs.mesUrl,
          MILLRACE_MAPPINGS: path.join(dir, 'mappings'),
          ...env,
        }),
      );
      await waitForReplicating(run);
      await dbs.pg.query(
        `insert into fam.everything values ${[1, 2, 3].map(familyRow).join(', ')}`,
      );
      await dbs.pg.query(
        "insert into fam.everything (id, i2, flag, txt, tstz) values (4, 0, false, '', now())",
      );
      await waitFor('four rows on the MES', async () => {
        const [rows] = await dbs.mysql.query('select count(*) as n from fam_everything');
        return Number((rows as { n: number }[])[0]!.n) === 4;
      });
      const audit = await millrace(dir, ['audit', '--format', 'json'], env);
      const report = JSON.parse(audit.stdout) as {
        consistent: boolean;
        mappings: { sourceRows: number; matched: number }[];
      };
      expect(report.mappings[0]).toMatchObject({ sourceRows: 4, matched: 4 });
      expect(report.consistent).toBe(true);
      expect(audit.code).toBe(0);
    } finally {
      await endRun(run);
    }
  }, 150_000);

  it('never overwrites a file without --force', async () => {
    const dir = project();
    const first = await millrace(dir, [
      'mappings',
      'scaffold',
      'public.sale_order',
      '--prefix',
      'ow_',
    ]);
    expect(first.code).toBe(0);
    const file = path.join(dir, 'mappings', 'sale_order.yaml');
    writeFileSync(file, '# mine\n');
    const again = await millrace(dir, [
      'mappings',
      'scaffold',
      'public.sale_order',
      '--prefix',
      'ow_',
    ]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`mappings/sale_order.yaml exists already`);
    expect(readFileSync(file, 'utf8')).toBe('# mine\n');
    const forced = await millrace(dir, [
      'mappings',
      'scaffold',
      'public.sale_order',
      '--prefix',
      'ow_',
      '--force',
    ]);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('source: public.sale_order');
    // The second scaffold rewrote the same migration rather than adding another.
    expect(readdirSync(path.join(dir, 'migrations'))).toHaveLength(1);
  }, 60_000);

  it('refuses a bad table name, a missing table and a table without a key (exit 2)', async () => {
    const dir = project();
    const bad = await millrace(dir, ['mappings', 'scaffold', 'sale_order']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/schema\.table, like public\.sale_order/);
    const missing = await millrace(dir, ['mappings', 'scaffold', 'public.nope']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('no table public.nope');
    const keyless = await millrace(dir, ['mappings', 'scaffold', 'fam.keyless']);
    expect(keyless.code).toBe(2);
    expect(keyless.stderr).toContain('fam.keyless has no primary key');
    expect(readdirSync(dir)).toEqual([]);
  }, 60_000);
});
