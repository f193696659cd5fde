import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCrmFixture, migrateReferenceStaging } from '../fixtures/crm-fixture.js';
import { cliEnv, runCliTracingPackages } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * Start-up cost: a command loads only the packages it uses (README "CLI start-up"). Timing is too
 * noisy on a shared machine to assert; this guards its causes: which of millrace's dependencies
 * each command loads (exactly, so a new import shows here), and that none of them pulls in
 * Node's fetch implementation.
 */

const dependencies = Object.keys(
  (JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> })
    .dependencies,
);

/** What `status` and `mappings check` need: the command line, both drivers, YAML and zod. */
const forReading = ['commander', 'mysql2', 'pg', 'yaml', 'zod'];

let dbs: TestDatabases;

beforeAll(async () => {
  dbs = await createTestDatabases('cli_startup_modules');
  await loadCrmFixture(dbs.pg, 5);
  await migrateReferenceStaging(dbs);
});

afterAll(async () => {
  await dbs?.drop();
});

function env(extra: Record<string, string> = {}) {
  return cliEnv({
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: 'mappings',
    ...extra,
  });
}

describe('what a command loads at start', () => {
  it('--help loads commander and nothing else', async () => {
    const result = await runCliTracingPackages(['--help'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: millrace');
    expect(result.packages).toEqual(['commander']);
    expect(result.globals).toEqual([]);
  });

  it.each(['mappings check', 'status'])(
    '%s loads the drivers, YAML and zod, not what run, migrate and backfill need',
    async (command) => {
      const result = await runCliTracingPackages(command.split(' '), env());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.packages.filter((name) => dependencies.includes(name))).toEqual(forReading);
      // pg's runtime probe would otherwise load fetch on Node 20 (src/postgres/load-pg.ts).
      expect(result.globals).toEqual([]);
    },
  );

  it('starts as usual when the compile cache directory cannot be created', async () => {
    // A path under a regular file: no directory can ever be made there.
    const result = await runCliTracingPackages(['status'], env({ XDG_CACHE_HOME: 'package.json' }));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('slot millrace: missing');
  });
});
