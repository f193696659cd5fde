import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, runCli } from '../support/cli.js';
import { CommandCounter } from '../support/command-counter.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { createSchemas } from '../support/schemas.js';
import { offlineBackfillEnv } from './support.js';

/**
 * The offline copy through COPY and LOAD DATA LOCAL: rows that do not convert stay out of the
 * file as dead letters, rows the MES refuses send their chunk through the writer, and a key
 * range the target already holds is merged through the staging table with upsert semantics.
 */
const crmSchema = `
  create table reading (id bigint primary key, site text, v text, note text);
  create table pair (a int, b text, n int, primary key (a, b));
  create table plain (id int primary key, v text);
`;

const mesSchema = [
  `create table stg_reading (
     id bigint primary key, site varchar(10) not null, v int check (v < 100000), note text,
     extra varchar(10) not null default 'keep'
   )`,
  `create table stg_pair (
     a int not null, b varchar(10) not null, n int, extra varchar(10) not null default 'keep',
     primary key (a, b)
   )`,
  'create table stg_plain (id int primary key, v text)',
];

const mappingsYaml = `
- name: readings
  source: public.reading
  target: stg_reading
  key: { id: id }
  columns: { site: site, v: v, note: note }
- name: pairs
  source: public.pair
  target: stg_pair
  key: { a: a, b: b }
  columns: { n: n }
- name: plains
  source: public.plain
  target: stg_plain
  key: { id: id }
  columns: { v: v }
`;

const fallback = /did not land exactly/;

describe('millrace backfill through LOAD DATA', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('backfill_load');
    await createSchemas(dbs, crmSchema, mesSchema);
    env = offlineBackfillEnv(dbs, mappingsYaml, 'debug');
    // Notes with every character LOAD DATA's syntax gives a meaning, and the text \N.
    await dbs.pg.query(`insert into reading
      select g, 'site' || (g % 7), g::text,
             case when g % 5 = 0 then null
                  else E'tab\\there\\nnew line \\\\ back \\\\N ' || repeat('ü☃😀', g % 4) || E'\\r' end
        from generate_series(1, 500) g`);
    await dbs.pg.query(`update reading set v = 'not a number' where id = 250`);
    await dbs.pg.query(`insert into pair
      select a, 'b' || b, a * b from generate_series(1, 20) a, generate_series(1, 10) b`);
    await dbs.pg.query(`insert into plain select g, 'v' || g from generate_series(1, 1000) g`);
  }, 120_000);

  afterAll(async () => {
    await dbs?.drop();
  });

  const backfill = (...args: string[]): Promise<CliResult> => runCli(['backfill', ...args], env);

  async function sourceReadings(except: readonly number[]): Promise<unknown[]> {
    const { rows } = await dbs.pg.query<Record<string, string | null>>(
      'select id::text, site, v, note from reading order by reading.id',
    );
    return rows
      .filter((row) => !except.includes(Number(row.id)))
      .map((row) => ({
        id: row.id,
        site: row.site,
        v: row.v === null ? null : Number(row.v),
        note: row.note,
      }));
  }

  async function targetReadings(): Promise<unknown[]> {
    const [rows] = await dbs.mysql.query('select id, site, v, note from stg_reading order by id');
    return rows as unknown[];
  }

  async function letterKeys(mapping: string): Promise<unknown[]> {
    const [rows] = await dbs.mysql.query(
      'select key_values from millrace_dead_letters where mapping_name = ? order by id',
      [mapping],
    );
    return (rows as { key_values: string }[]).map((row) => JSON.parse(row.key_values));
  }

  it('loads a chunk around a value that does not convert: one dead letter, the rest byte for byte', async () => {
    const result = await backfill('--table', 'readings', '--chunk-size', '1000');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(fallback);
    expect(await targetReadings()).toEqual(await sourceReadings([250]));
    expect(await letterKeys('readings')).toEqual([{ id: '250' }]);
  }, 120_000);

  it('sends a chunk with rows the MES refuses through the writer: those become dead letters, the rest commit', async () => {
    await dbs.mysql.query('delete from stg_reading');
    await dbs.mysql.query('delete from millrace_dead_letters');
    // NULL into NOT NULL and a CHECK constraint: only MariaDB knows, and LOAD DATA LOCAL would
    // only warn (storing '' for the NULL).
    await dbs.pg.query(`update reading set site = null where id = 330`);
    await dbs.pg.query(`update reading set v = '200000' where id = 340`);
    const result = await backfill('--table', 'readings', '--restart', '--chunk-size', '100');
    expect(result.code, result.stderr).toBe(0);
    // Only the chunk holding them (301–400) went through the writer.
    expect(result.stderr.match(new RegExp(fallback.source, 'g'))).toHaveLength(1);
    expect(await targetReadings()).toEqual(await sourceReadings([250, 330, 340]));
    expect(await letterKeys('readings')).toEqual([{ id: '250' }, { id: '330' }, { id: '340' }]);
  }, 120_000);

  it('merges a key range the target holds through the staging table, keeping unmapped columns', async () => {
    await dbs.mysql.query(`insert into stg_pair (a, b, n, extra) values
      (1, 'b1', -1, 'mine'), (7, 'b3', -1, 'mine'), (20, 'b9', -1, 'mine')`);
    const result = await backfill('--table', 'pairs', '--chunk-size', '30');
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).not.toMatch(fallback);
    const { rows } = await dbs.pg.query<{ a: number; b: string; n: number }>(
      'select a::int4 as a, b, n from pair',
    );
    const [stored] = await dbs.mysql.query('select a, b, n, extra from stg_pair');
    const mine = new Set(['1/b1', '7/b3', '20/b9']);
    const expected = rows.map((row) => ({
      a: Number(row.a),
      b: row.b,
      n: Number(row.n),
      extra: mine.has(`${row.a}/${row.b}`) ? 'mine' : 'keep',
    }));
    const order = (list: { a: number; b: string }[]) =>
      [...list].sort((x, y) => x.a - y.a || x.b.localeCompare(y.b));
    expect(order(stored as { a: number; b: string }[])).toEqual(order(expected));
  }, 120_000);

  it('loads each chunk of a fresh copy in two round trips: the load, then its progress with the commit', async () => {
    const server = new URL(dbs.mesUrl);
    const counter = await CommandCounter.start({
      host: server.hostname,
      port: Number(server.port),
    });
    try {
      const proxied = new URL(dbs.mesUrl);
      proxied.port = String(counter.port);
      const result = await runCli(['backfill', '--table', 'plains', '--chunk-size', '90'], {
        ...env,
        MES_DATABASE_URL: proxied.toString(),
      });
      expect(result.code, result.stderr).toBe(0);
      const commands = counter.busiest().commands;
      // Twelve chunks: a LOAD DATA and a COMMIT each, plus the session's set-up and the finish.
      expect(commands.filter((sql) => /LOAD DATA/.test(sql))).toHaveLength(12);
      expect(commands.length).toBeLessThanOrEqual(2 * 12 + 12);
    } finally {
      await counter.stop();
    }
    const [rows] = await dbs.mysql.query('select count(*) as n from stg_plain');
    expect(Number((rows as { n: string }[])[0]!.n)).toBe(1000);
  }, 120_000);
});
