import { expect } from 'vitest';
import type { TestDatabases } from './databases.js';
import { type RunningCli, waitFor } from './replication.js';

/** The CRM table `runCaughtUp` bumps. */
export const markerCrm = 'create table marker (id int primary key, n int)';
/** Its copy on the MES. */
export const markerMes = 'create table stg_marker (id int primary key, n int)';
/** The mapping that copies it, to add to a test's own. */
export const markerMapping = `
- name: marker
  source: public.marker
  target: stg_marker
  key: { id: id }
  columns: { n: n }
`;

let value = 0;

/**
 * Waits until `run` applied everything committed on the CRM so far: bumps `marker` and waits
 * for it on the MES. Stops waiting when the run exits, and fails then with its output (and with
 * the end of it when the marker does not come within `timeoutMs`).
 */
export async function runCaughtUp(
  dbs: TestDatabases,
  run: RunningCli | undefined,
  timeoutMs = 30_000,
): Promise<void> {
  value++;
  const expected = value;
  await dbs.pg.query('insert into marker values (1, $1) on conflict (id) do update set n = $1', [
    expected,
  ]);
  await waitFor(
    'the marker',
    async () => {
      const [rows] = await dbs.mysql.query('select n from stg_marker where id = 1');
      return (rows as { n: number }[])[0]?.n === expected || run?.child.exitCode !== null;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}; the replicator said:\n${run?.output().slice(-4000)}`);
  });
  expect(run?.child.exitCode, run?.output()).toBeNull();
}
