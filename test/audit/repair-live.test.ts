import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { createMarkedTable, type MarkedTable } from '../support/marked-table.js';
import {
  catchUp,
  createReplication,
  dropReplication,
  endRun,
  type RunningCli,
  replicationEnv,
  startRun,
  uniqueName,
  waitFor,
  waitForReplicating,
} from '../support/replication.js';
import { sourceAndTarget } from '../support/schemas.js';
import { proxyFor, type TcpProxy, throughProxy } from '../support/tcp-proxy.js';
import { Workload } from '../support/workload.js';

const thing: MarkedTable = {
  crm: 'thing (id int primary key, version int not null, v text not null)',
  mes: 'stg_thing (id int primary key, version int not null, v varchar(40) not null)',
  mapping:
    '{ name: things, source: public.thing, target: stg_thing, key: { id: id }, columns: { version: version, v: v } }',
};

/** Bumps the version of random rows among `rows` (and adds new ones) until stopped. */
function bumpVersions(url: string, rows: number): Workload {
  let next = 500_000;
  return new Workload(url, async (client) => {
    await client.query('begin');
    for (let i = 0; i < 5; i++) {
      await client.query(
        `update thing set version = version + 1, v = 'w' || (version + 1) where id = $1`,
        [1 + Math.floor(Math.random() * rows)],
      );
    }
    await client.query(`insert into thing values ($1, 1, 'new')`, [next++]);
    await client.query('commit');
  });
}

/**
 * `audit --repair` while `run` streams changes to the very rows it repairs: the repair goes
 * through the replicator's stream (between watermarks), so it never writes an image older than
 * one the stream already applied, nor removes a row the stream just inserted. Versions only
 * grow: the target ends with exactly the source's rows and versions. The audit's MES connection
 * is slowed by a proxy, which widens the gap between its reads and its writes.
 */
describe('millrace audit --repair beside a running replicator', () => {
  let dbs: TestDatabases;
  let proxy: TcpProxy;
  let name: string;
  let env: NodeJS.ProcessEnv;
  let run: RunningCli | undefined;
  let workload: Workload | undefined;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_repair_live');
    const mappingsDir = await createMarkedTable(dbs, thing);
    name = uniqueName('rep');
    await createReplication(dbs, name, ['thing', 'sync_marker']);
    await dbs.pg.query(`insert into thing select g, 1, 'v1' from generate_series(1, 2000) g`);
    proxy = await proxyFor(dbs.mesUrl);
    env = replicationEnv(dbs, name, mappingsDir);
  });

  afterEach(async () => {
    await workload?.stop().catch(() => undefined);
    await endRun(run);
  });

  afterAll(async () => {
    await proxy?.close();
    if (dbs !== undefined) await dropReplication(dbs, name).catch(() => undefined);
    await dbs?.drop();
  });

  it('repairs in-stream: the pair ends equal and no row goes back to an older version', async () => {
    run = startRun(['--heartbeat', '1'], env);
    await waitForReplicating(run);
    await catchUp(dbs, 60_000);
    // Differences of every kind: stale values, rows missing, rows the source never had.
    await dbs.mysql.query(`update stg_thing set v = 'tampered' where id <= 2000`);
    await dbs.mysql.query('delete from stg_thing where id % 100 = 0');
    await dbs.mysql.query(
      `insert into stg_thing (id, version, v) values (900001, 7, 'extra'), (900002, 7, 'extra')`,
    );

    workload = bumpVersions(dbs.crmUrl, 2000);
    await waitFor('a busy workload', async () => workload!.transactions > 50, 60_000);
    proxy.slow(15);
    const repaired = await runCli(
      ['audit', '--repair', '--format', 'json', '--log-level', 'info', '--settle-timeout', '60'],
      { ...env, MES_DATABASE_URL: throughProxy(dbs.mesUrl, proxy) },
    );
    proxy.resume();
    await workload.stop();
    workload = undefined;
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(run.output()).toContain('repaired in-stream');

    await catchUp(dbs, 60_000);
    const { expected, actual } = await sourceAndTarget(
      dbs,
      'select id, version, v from thing order by id',
      'select id, version, v from stg_thing order by id',
    );
    const versions = (rows: unknown[]) =>
      new Map(
        (rows as { id: unknown; version: unknown }[]).map((row) => [
          Number(row.id),
          Number(row.version),
        ]),
      );
    const source = versions(expected);
    const target = versions(actual);
    const older = [...source].filter(([id, version]) => (target.get(id) ?? 0) < version);
    expect(older, 'rows older on the MES than on the CRM').toEqual([]);
    expect([...target.keys()].filter((id) => !source.has(id))).toEqual([]);
    const normal = (rows: unknown[]) =>
      (rows as { id: unknown; version: unknown; v: unknown }[]).map((row) => ({
        id: Number(row.id),
        version: Number(row.version),
        v: String(row.v),
      }));
    expect(normal(actual)).toEqual(normal(expected));
  }, 150_000);
});
