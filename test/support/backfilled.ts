import { expect } from 'vitest';
import { cliEnv, runCli } from './cli.js';
import type { TestDatabases } from './databases.js';
import { uniqueName, writeMappings } from './replication.js';
import { createSchemas } from './schemas.js';

/** A test's own tables on each side and the mapping files that copy them. */
interface OfflineSchema {
  readonly crm: string;
  readonly mes: readonly string[];
  readonly mappings: Readonly<Record<string, string>>;
}

/**
 * Creates `schema` and backfills it offline, under a slot no replicator holds (so an audit reports
 * differences as read, without waiting); returns the environment for further CLI runs.
 */
export async function backfilledEnv(
  dbs: TestDatabases,
  schema: OfflineSchema,
  slotLabel: string,
): Promise<NodeJS.ProcessEnv> {
  await createSchemas(dbs, schema.crm, schema.mes);
  const env = cliEnv({
    CRM_DATABASE_URL: dbs.crmUrl,
    MES_DATABASE_URL: dbs.mesUrl,
    MILLRACE_MAPPINGS: writeMappings(schema.mappings),
    MILLRACE_SLOT: uniqueName(slotLabel),
    MILLRACE_LOG_LEVEL: 'info',
  });
  const backfill = await runCli(['backfill'], env);
  expect(backfill.code, backfill.stderr).toBe(0);
  return env;
}
