import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  dropReplication,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  writeMappings,
} from '../support/replication.js';
import { markerCrm, markerMapping, markerMes, runCaughtUp } from '../support/run-marker.js';
import { createSchemas } from '../support/schemas.js';

/**
 * Several mappings into one target table: each removes only the rows it owns. Two mappings of
 * one source into one table are refused (one mapping with `any:` says it); mappings of several
 * sources mark their rows with a const owner column that scopes their deletes and TRUNCATEs.
 */
const regionPair = `
- name: eu_orders
  source: public.orders
  target: stg_order
  key: { order_id: id }
  columns: { region: region, v: v }
  filter: { region: { eq: EU } }
- name: us_orders
  source: public.orders
  target: stg_order
  key: { order_id: id }
  columns: { region: region, v: v }
  filter: { region: { eq: US } }
`;

const regionAny = `
- name: orders
  source: public.orders
  target: stg_order
  key: { order_id: id }
  columns: { region: region, v: v }
  filter:
    any:
      - region: { eq: EU }
      - region: { eq: US }
`;

const fanIn = `
- name: shop_orders
  source: public.shop_order
  target: stg_all
  key: { order_id: id }
  columns: { v: v, origin: { const: SHOP } }
- name: web_orders
  source: public.web_order
  target: stg_all
  key: { order_id: id }
  columns: { v: v, origin: { const: WEB } }
`;

describe('rows owned by one of several mappings into a table', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const streams: string[] = [];

  beforeAll(async () => {
    dbs = await createTestDatabases('ownership');
    await createSchemas(
      dbs,
      `create table orders (id int primary key, region text not null, v int not null);
       create table shop_order (id int primary key, v int not null);
       create table web_order (id int primary key, v int not null);
       ${markerCrm}`,
      [
        'create table stg_order (order_id int primary key, region varchar(8), v int)',
        'create table stg_all (order_id int primary key, origin varchar(8), v int)',
        markerMes,
      ],
    );
  });

  afterEach(async () => {
    killRun(run);
    await run?.done;
    for (const name of streams.splice(0)) await dropReplication(dbs, name);
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  function envFor(name: string, yaml: string): NodeJS.ProcessEnv {
    return replicationEnv(dbs, name, writeMappings({ 'm.yaml': yaml + markerMapping }));
  }

  async function start(yaml: string, tables: readonly string[]): Promise<void> {
    const name = uniqueName('owner');
    await createReplication(dbs, name, [...tables, 'marker']);
    streams.push(name);
    run = startRun([], envFor(name, yaml));
  }

  const caughtUp = () => runCaughtUp(dbs, run);

  it('refuses two mappings of one source into one table, and one mapping with any: stays equal', async () => {
    const check = await runCli(['mappings', 'check'], envFor('unused', regionPair));
    expect(check.code).toBe(2);
    expect(check.stdout).toMatch(
      /us_orders: target: mapping eu_orders \(\S+\/m\.yaml\) also maps public\.orders into stg_order: two mappings of one source table into one target table delete each other's rows/,
    );
    expect(check.stdout).toContain('use one mapping whose filter joins both with any:');

    await start(regionAny, ['orders']);
    await dbs.pg.query(
      `insert into orders select i, case when i % 3 = 0 then 'EU' when i % 3 = 1 then 'US' else 'APAC' end, i from generate_series(1, 300) i`,
    );
    // Rounds of updates that move rows between regions and change values.
    for (let round = 0; round < 3; round++) {
      await dbs.pg.query(
        `update orders set v = v + 1, region = case region when 'EU' then 'US' when 'US' then 'APAC' else 'EU' end where id % ${round + 2} = 0`,
      );
    }
    await caughtUp();
    const [target] = await dbs.mysql.query(
      'select cast(order_id as char) as id, region, cast(v as char) as v from stg_order order by order_id',
    );
    const source = await dbs.pg.query<{ id: string; region: string; v: string }>(
      "select id::text as id, region, v::text as v from orders where region in ('EU', 'US') order by orders.id",
    );
    expect(source.rows.length).toBeGreaterThan(150);
    expect(target).toEqual(source.rows);
    expect((await stopRun(run!)).code).toBe(0);
  }, 120_000);

  it('a TRUNCATE of one fan-in source leaves the rows of the other', async () => {
    const check = await runCli(['mappings', 'check'], envFor('unused', fanIn));
    expect(check.code, check.stdout).toBe(0);
    const refused = await runCli(
      ['mappings', 'check'],
      envFor('unused', fanIn.replace('{ const: WEB }', '{ const: SHOP }')),
    );
    expect(refused.code).toBe(2);
    expect(refused.stdout).toMatch(
      /web_orders: columns: target table stg_all is also written by mapping shop_orders \(\S+\/m\.yaml, from public\.shop_order\): mappings of several source tables into one target table must each set the same column to a different const/,
    );

    await start(fanIn, ['shop_order', 'web_order']);
    await dbs.pg.query('insert into shop_order select i, i from generate_series(1, 40) i');
    await dbs.pg.query('insert into web_order select i, i from generate_series(1001, 1040) i');
    await caughtUp();
    const count = async (origin: string) => {
      const [rows] = await dbs.mysql.query('select count(*) as n from stg_all where origin = ?', [
        origin,
      ]);
      return Number((rows as { n: number }[])[0]!.n);
    };
    expect([await count('SHOP'), await count('WEB')]).toEqual([40, 40]);
    await dbs.pg.query('delete from web_order where id = 1001');
    await dbs.pg.query('truncate shop_order');
    await caughtUp();
    expect([await count('SHOP'), await count('WEB')]).toEqual([0, 39]);
    expect((await stopRun(run!)).code).toBe(0);
  }, 120_000);
});
