import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { compileMappings } from '../../src/mapping/compile-mappings.js';
import type { CompiledMapping } from '../../src/mapping/compiled-mapping.js';
import { loadMappings } from '../../src/mapping/load-mappings.js';
import { mappedCrmTables } from '../../src/mapping/mapping-index.js';
import { mesSourceTable, type SourceTable } from '../../src/mapping/tables.js';
import { toCrmTypes } from '../../src/mapping/to-crm-types.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { connectTarget, type MysqlConnection } from '../../src/mysql/mysql-client.js';
import { introspectCrmTargets } from '../../src/postgres/introspect-targets.js';
import type { MesColumn } from '../../src/values/column-types.js';
import { cliEnv, runCli } from './cli.js';
import type { TestDatabases } from './databases.js';
import { endRun, type RunningCli, replicationEnv, startRun, waitFor } from './replication.js';

/**
 * A migrations directory for `millrace migrate`: the named reference migrations (from the
 * repository's migrations/, `crm/…` for the CRM's) and a crm/ folder, so the CRM gets the
 * return path's control tables even with no CRM staging migration.
 */
export function migrationsDir(reference: readonly string[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-migrations-'));
  mkdirSync(path.join(dir, 'crm'));
  for (const file of reference)
    copyFileSync(path.resolve('migrations', file), path.join(dir, file));
  return dir;
}

/** Runs `millrace migrate` on both sides of the test databases; fails with its output. */
export async function migrateBoth(dbs: TestDatabases, dir: string): Promise<void> {
  const result = await runCli(
    ['migrate', '--migrations', dir],
    cliEnv({ CRM_DATABASE_URL: dbs.crmUrl, MES_DATABASE_URL: dbs.mesUrl }),
  );
  expect(result.code, result.stderr).toBe(0);
}

/** The reference work-order tables: `work_order` on the MES, `mes_work_order` on the CRM. */
export function migrateWorkOrders(dbs: TestDatabases): Promise<void> {
  return migrateBoth(
    dbs,
    migrationsDir(['20240101000005_work_order.mjs', 'crm/20240101000001_mes_work_order.mjs']),
  );
}

/** A mappings directory holding the reference work-order mapping (to-crm) and `extra` files. */
export function workOrderMappings(extra: Readonly<Record<string, string>> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-mappings-'));
  copyFileSync(path.resolve('mappings/work-orders.yaml'), path.join(dir, 'work-orders.yaml'));
  for (const [file, text] of Object.entries(extra)) writeFileSync(path.join(dir, file), text);
  return dir;
}

/** How many times the run's return direction logged that it replicates. */
function returnStarts(run: RunningCli): number {
  return run
    .output()
    .split('\n')
    .filter(
      (line) => line.includes('"direction":"to-crm"') && line.includes('replicator replicating'),
    ).length;
}

/**
 * Starts `millrace run` and waits until its return direction replicates. A run started right
 * after a killed one may find the dead session's lock still held and exit 3: started again then.
 */
export async function startReturnRun(
  args: readonly string[],
  dbs: TestDatabases,
  stream: string,
  mappings: string,
  timeoutMs = 60_000,
): Promise<RunningCli> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const run = startRun(args, replicationEnv(dbs, stream, mappings));
    await waitFor(
      'the return direction to replicate',
      async () => returnStarts(run) > 0 || run.child.exitCode !== null,
      Math.max(1_000, deadline - Date.now()),
    ).catch((error: unknown) => {
      run.child.kill('SIGKILL');
      throw new Error(`${String(error)}; the replicator said:\n${run.output().slice(-4000)}`);
    });
    if (returnStarts(run) > 0) return run;
    const result = await run.done;
    if (result.code !== 3 || Date.now() > deadline)
      throw new Error(`run exited ${result.code}:\n${result.stderr.slice(-4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** The to-crm mappings of a mappings directory, compiled against both live schemas. */
export async function compileReturnMappings(
  dbs: TestDatabases,
  dir: string,
): Promise<readonly CompiledMapping[]> {
  const specs = loadMappings(dir, 'to-crm');
  const tables = mappedCrmTables(specs);
  const source = new Map<string, SourceTable<MesColumn>>();
  for (const [name, table] of await introspectTarget(dbs.mysql, tables.source))
    source.set(name, mesSourceTable(table));
  const target = await introspectCrmTargets(dbs.pg, tables.target);
  return compileMappings(specs, { source, target }, { types: toCrmTypes });
}

/**
 * Drops the return stream's replication origins (cluster-wide) if they exist: the stream's own
 * and the one its backfills write under.
 */
export async function dropReturnOrigin(dbs: TestDatabases, stream: string): Promise<void> {
  await dbs.pg
    .query(
      'select pg_replication_origin_drop(roname) from pg_replication_origin where roname = any($1)',
      [[`millrace_${stream}`, `millrace_${stream}_backfill`]],
    )
    .catch(() => undefined);
}

/**
 * The end of a return-path test file: its run stopped, the stream's origins dropped, then its
 * databases (when they were made at all).
 */
export async function endReturnTest(
  dbs: TestDatabases | undefined,
  run: RunningCli | undefined,
  stream: string,
): Promise<void> {
  await endRun(run);
  if (dbs) {
    await dropReturnOrigin(dbs, stream);
    await dbs.drop();
  }
}

/** The stream's checkpoint row on the CRM (undefined before its first commit). */
export interface ReturnCheckpoint {
  readonly lsn: bigint;
  readonly binlog_file: string;
  readonly binlog_position: string;
  readonly gtid: string | null;
}

export async function returnCheckpoint(
  dbs: TestDatabases,
  stream: string,
): Promise<ReturnCheckpoint | undefined> {
  const { rows } = await dbs.pg.query<Omit<ReturnCheckpoint, 'lsn'> & { lsn: string }>(
    `select lsn::text as lsn, binlog_file, binlog_position::text as binlog_position, gtid
       from millrace.checkpoints where stream = $1`,
    [stream],
  );
  const row = rows[0];
  return row && { ...row, lsn: BigInt(row.lsn) };
}

/** The MES's work orders, every value in its exact text form, computed in SQL. */
const mesWorkOrders = `
  select cast(id as char) as id, cast(crm_order_id as char) as crm_order_id, status,
         date_format(planned_start, '%Y-%m-%d %H:%i:%s.%f') as planned_start,
         date_format(planned_finish, '%Y-%m-%d %H:%i:%s.%f') as planned_finish,
         cast(qty_planned as char) as qty_planned, cast(qty_produced as char) as qty_produced,
         cast(qty_scrapped as char) as qty_scrapped, resource_code,
         date_format(updated_at, '%Y-%m-%d %H:%i:%s.%f') as updated_at
    from work_order order by work_order.id`;

/** The CRM's copy in the same form (DATETIME is carried as UTC into timestamptz). */
const crmWorkOrders = `
  select work_order_id::text as id, sale_order_id::text as crm_order_id, status,
         to_char(planned_start at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as planned_start,
         to_char(planned_finish at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as planned_finish,
         qty_planned::text as qty_planned, qty_produced::text as qty_produced,
         qty_scrapped::text as qty_scrapped, work_center as resource_code,
         to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as updated_at
    from mes_work_order order by work_order_id`;

/** Both sides' work orders, for a test to compare. */
export async function workOrdersBothSides(
  dbs: TestDatabases,
): Promise<{ mes: unknown[]; crm: unknown[] }> {
  const [mes] = await dbs.mysql.query(mesWorkOrders);
  const crm = await dbs.pg.query(crmWorkOrders);
  return { mes: (mes as object[]).map((row) => ({ ...row })), crm: crm.rows };
}

/** Waits until the CRM's work orders equal the MES's; fails with both and the run's output. */
export async function waitForWorkOrders(
  dbs: TestDatabases,
  run: RunningCli | undefined,
  timeoutMs = 60_000,
): Promise<void> {
  let last: { mes: unknown[]; crm: unknown[] } = { mes: [], crm: [] };
  await waitFor(
    'the CRM work orders to equal the MES',
    async () => {
      last = await workOrdersBothSides(dbs);
      return JSON.stringify(last.mes) === JSON.stringify(last.crm);
    },
    timeoutMs,
  ).catch((error: unknown) => {
    throw new Error(
      `${String(error)}\nMES: ${JSON.stringify(last.mes).slice(0, 2000)}\nCRM: ${JSON.stringify(last.crm).slice(0, 2000)}\nrun:\n${run?.output().slice(-3000)}`,
    );
  });
}

/** Every write the return path makes into the CRM table, in order (proves nothing is repeated):
 * `wo_writes` on the CRM, filled by a trigger on `mes_work_order`. */
export const crmWriteLog = `
  create table wo_writes (seq serial primary key, op text not null, id bigint not null);
  create function log_wo_write() returns trigger language plpgsql as $$
  begin
    insert into wo_writes (op, id)
      values (tg_op, case when tg_op = 'DELETE' then old.work_order_id else new.work_order_id end);
    return null;
  end $$;
  create trigger wo_writes after insert or update or delete on mes_work_order
    for each row execute function log_wo_write();`;

/**
 * A MES session whose writes are marked as millrace's own (`skip_replication`): the server leaves
 * them out of the return path's binlog stream, as it does the forward writer's.
 */
export async function connectMarkedSession(mesUrl: string): Promise<MysqlConnection> {
  const session = await connectTarget({ url: mesUrl, timeoutMs: 10_000, logger: silentLogger() });
  await session.query('SET @@SESSION.skip_replication = 1');
  return session;
}
