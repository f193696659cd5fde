import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCrmFixture, migrateReferenceStaging } from '../fixtures/crm-fixture.js';
import { cliEnv, runCliTracingPackages } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * Start-up cost: a command loads only the packages it uses (README "Start-up"). Timing is too
 * noisy on a shared machine to assert; this guards its cause, what each command loads.
 */

/** Packages only long-running or writing commands need: never loaded by --help, status or check. */
const notForReading = [
  '@vlasky/zongji',
  'cli-progress',
  'knex',
  'pg-copy-streams',
  'pg-logical-replication',
  'pino',
  'pino-pretty',
  'prom-client',
];

let dbs: TestDatabases;

beforeAll(async () => {
  dbs = await createTestDatabases('cli_startup_modules');
  await loadCrmFixture(dbs.pg, 5);
  await migrateReferenceStaging(dbs);
});

afterAll(async () => {
  await dbs?.drop();
});

function env() {
  return cliEnv({
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: 'mappings',
  });
}

describe('what a command loads at start', () => {
  it('--help loads commander and nothing else', async () => {
    const result = await runCliTracingPackages(['--help'], env());
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Usage: millrace');
    expect(result.packages).toEqual(['commander']);
  });

  it.each(['mappings check', 'status'])(
    '%s loads the drivers and YAML, not what run, migrate and backfill need',
    async (command) => {
      const args = command.split(' ');
      const result = await runCliTracingPackages(args, env());
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect(result.packages).toEqual(expect.arrayContaining(['mysql2', 'pg', 'yaml']));
      expect(result.packages.filter((name) => notForReading.includes(name))).toEqual([]);
    },
  );
});
