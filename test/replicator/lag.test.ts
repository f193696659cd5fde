import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { freePort } from '../support/ports.js';
import {
  createReplication,
  endRun,
  endStream,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitFor,
  writeMappings,
} from '../support/replication.js';
import { migrateControlTables } from '../support/schemas.js';

const mappingYaml = `
name: items
source: public.item
target: stg_item
key: { item_id: id }
columns: { name: name }
`;

/** The value of a gauge series (name and labels) on a run's /metrics, or undefined before it is set. */
async function gauge(port: number, name: string): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

describe('millrace_lag_bytes', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('lag');

  beforeAll(async () => {
    dbs = await createTestDatabases('lag');
    await dbs.pg.query(
      'create table item (id int primary key, name text); create table churn (id serial primary key, pad text)',
    );
    await migrateControlTables(dbs.mesUrl);
    await dbs.mysql.query('create table stg_item (item_id int primary key, name varchar(40))');
    await createReplication(dbs, name, ['item']);
  });

  afterEach(() => endRun(run));
  afterAll(() => endStream(dbs, name, run));

  it('stays small while only unmapped tables write WAL: the idle slot is acknowledged', async () => {
    const port = await freePort();
    const env = replicationEnv(dbs, name, writeMappings({ 'items.yaml': mappingYaml }));
    run = startRun(['--heartbeat', '1', '--metrics-port', String(port)], env);
    await dbs.pg.query("insert into item values (1, 'one')");
    await waitFor('the first row', async () => {
      const [rows] = await dbs.mysql.query('select count(*) as n from stg_item');
      return Number((rows as { n: string }[])[0]?.n) === 1;
    });
    // About 30 MB of WAL the publication does not carry.
    const before = await dbs.pg.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
    await dbs.pg.query(
      'insert into churn (pad) select repeat(md5(i::text), 8) from generate_series(1, 100000) i',
    );
    const written = await dbs.pg.query<{ bytes: string }>(
      'select pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint::text as bytes',
      [before.rows[0]!.lsn],
    );
    const wal = Number(written.rows[0]!.bytes);
    expect(wal).toBeGreaterThan(20_000_000);
    // Progress lines (every 10 s) after the churn: the second one has seen the keepalive.
    const offset = run.output().length;
    const readings = () =>
      [
        ...run!
          .output()
          .slice(offset)
          .matchAll(/"lagBytes":(\d+)/g),
      ].map((match) => Number(match[1]));
    await waitFor('two progress lines after the churn', async () => readings().length >= 2, 45_000);
    const lag = readings()[1]!;
    expect(lag, run.output().slice(-2000)).toBeLessThan(wal / 4);
    expect(await gauge(port, 'millrace_lag_bytes{direction="to-mes"}')).toBeLessThan(wal / 4);
    expect((await stopRun(run)).code).toBe(0);
  }, 90_000);
});
