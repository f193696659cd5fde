import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
 * `millrace mappings check` as users run it: the built CLI (npm run build first) in a project
 * directory holding `mappings/`, against the fixture CRM and the reference staging tables.
 */
let dbs: TestDatabases;
const projects: string[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases('cli_mappings_check');
  await loadCrmFixture(dbs.pg, 20);
  await migrateReferenceStaging(dbs);
});

afterAll(async () => {
  await dbs?.drop();
  for (const dir of projects) rmSync(dir, { recursive: true, force: true });
});

/** A project directory with a copy of the reference mappings, changed by `edit`. */
function project(edit: (dir: string) => void = () => undefined): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-project-'));
  projects.push(dir);
  cpSync(referenceMappingsDir, path.join(dir, 'mappings'), { recursive: true });
  edit(path.join(dir, 'mappings'));
  return dir;
}

function replaceIn(file: string, from: string, to: string): void {
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
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

describe('millrace mappings check', () => {
  it('passes the reference example: one line per mapping, exit 0, also with --strict', async () => {
    const dir = project();
    const result = await millrace(dir, ['mappings', 'check']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toEqual([
      '✓ materials: public.product_product → stg_material, 11 columns',
      '✓ customers: public.res_partner → stg_customer, 16 columns',
      '✓ customer_contacts: public.res_partner → stg_customer_contact, 7 columns',
      '✓ production_order_lines: public.sale_order_line → stg_production_order_line, 12 columns',
      '✓ production_orders: public.sale_order → stg_production_order, 16 columns',
      '✓ work_orders: work_order → public.mes_work_order (to-crm), 11 columns',
      '6 mappings checked: 6 ok, 0 failed; 0 errors, 0 warnings',
    ]);
    const strict = await millrace(dir, ['mappings', 'check', '--strict']);
    expect(strict.code).toBe(0);
  });

  it('prints one JSON object with --json', async () => {
    const result = await millrace(project(), ['mappings', 'check', '--json']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      errors: number;
      warnings: number;
      mappings: {
        name: string;
        file: string;
        source: string;
        target: string;
        columns: number;
        status: string;
      }[];
    };
    expect(report).toMatchObject({ ok: true, errors: 0, warnings: 0 });
    expect(report.mappings.find((mapping) => mapping.name === 'production_orders')).toEqual({
      name: 'production_orders',
      file: 'mappings/production-orders.yaml',
      direction: 'to-mes',
      source: 'public.sale_order',
      target: 'stg_production_order',
      columns: 16,
      status: 'ok',
      problems: [],
    });
  });

  it('exits 2 on a mapping that does not load, naming file, mapping and field in one line', async () => {
    const dir = project((mappings) =>
      replaceIn(
        path.join(mappings, 'production-orders.yaml'),
        'map: { sale: RELEASED, done: COMPLETED }',
        'map: sale',
      ),
    );
    const result = await millrace(dir, ['mappings', 'check']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      '✗ production_orders: (mappings/production-orders.yaml: did not load) (1 error)\n',
    );
    expect(result.stdout).toContain(
      '    error: mappings/production-orders.yaml: production_orders: columns.state.map: expected an object (line 11)\n',
    );
    // The other mappings are still checked.
    expect(result.stdout).toContain('✓ customers: public.res_partner → stg_customer, 16 columns\n');
    expect(result.stderr).toBe(
      'millrace: mappings check failed: 1 error; fix the mappings or the schemas listed above\n',
    );
  });

  it('exits 2 on a mapping the live schemas refute', async () => {
    const dir = project((mappings) => {
      replaceIn(path.join(mappings, 'partners.yaml'), 'customer_name: name', 'customer_name: nam');
      replaceIn(
        path.join(mappings, 'materials.yaml'),
        'target: stg_material',
        'target: stg_materials',
      );
    });
    const result = await millrace(dir, ['mappings', 'check', '--json']);
    expect(result.code).toBe(2);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      errors: number;
      mappings: { name: string; status: string; problems: { text: string }[] }[];
    };
    expect(report.ok).toBe(false);
    expect(report.errors).toBe(2);
    const texts = report.mappings.flatMap((mapping) =>
      mapping.problems.map((problem) => problem.text),
    );
    expect(texts).toEqual([
      'mappings/materials.yaml: materials: target: table stg_materials does not exist in the MES database (run millrace migrate?) (line 3)',
      'mappings/partners.yaml: customers: columns.customer_name: source column nam does not exist in public.res_partner (line 9)',
    ]);
    expect(
      report.mappings
        .filter((mapping) => mapping.status === 'error')
        .map((mapping) => mapping.name),
    ).toEqual(['materials', 'customers']);
  });

  it('lists YAML syntax errors with their line', async () => {
    const dir = project((mappings) =>
      writeFileSync(path.join(mappings, 'broken.yaml'), 'name: x\nkey:\n  a: b\n  a: c\n'),
    );
    const result = await millrace(dir, ['mappings', 'check']);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(
      '✗ mappings/broken.yaml: does not parse\n    error: mappings/broken.yaml: line 4, column 3: YAML: Map keys must be unique\n',
    );
  });

  it('prints warnings and exits 0; --strict makes them fail', async () => {
    // A table of its own: a second source into a reference table would need an owner column.
    await dbs.mysql.query(
      'create table stg_note (crm_contact_id int primary key, contact_name varchar(64), phone varchar(32))',
    );
    const dir = project((mappings) =>
      writeFileSync(
        path.join(mappings, 'notes.yaml'),
        'source: public.sale_order\ntarget: stg_note\nkey: { crm_contact_id: id }\ncolumns: { contact_name: name, phone: note }\n',
      ),
    );
    const result = await millrace(dir, ['mappings', 'check']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      '✓ notes: public.sale_order → stg_note, 3 columns (1 warning)\n',
    );
    expect(result.stdout).toContain(
      '    warning: mappings/notes.yaml: notes: columns.phone: text into varchar(32): values longer than 32 characters are rejected (line 4)\n',
    );
    const strict = await millrace(dir, ['mappings', 'check', '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stdout).toContain(
      '✗ notes: public.sale_order → stg_note, 3 columns (1 warning)\n',
    );
    expect(strict.stderr).toBe(
      'millrace: mappings check failed: 1 warning (--strict); fix the mappings or the schemas listed above\n',
    );
  });

  it('exits 2 with one line when there is no mappings directory', async () => {
    const result = await millrace(project(), ['mappings', 'check', '--mappings', './nope']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'millrace: mappings directory ./nope does not exist (set --mappings / MILLRACE_MAPPINGS)\n',
    );
  });

  it('exits 3 naming the database when one is unreachable', async () => {
    const result = await millrace(project(), ['mappings', 'check', '--connect-timeout', '0.5'], {
      CRM_DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/crm',
    });
    expect(result.code).toBe(3);
    // A warning is logged when the first attempt fails; the last line is the failure.
    const lastLine = result.stderr.trim().split('\n').at(-1);
    expect(lastLine).toMatch(
      /^millrace: cannot connect to CRM PostgreSQL at postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/crm/,
    );
    expect(result.stderr).not.toContain('secret');
  });

  it('has --help with an example', async () => {
    const result = await millrace(project(), ['mappings', 'check', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--strict');
    expect(result.stdout).toContain('--json');
    expect(result.stdout).toContain('Examples:\n  millrace mappings check\n');
  });
});
