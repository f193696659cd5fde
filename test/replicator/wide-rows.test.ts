import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  createReplication,
  endRun,
  endStream,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  writeMappings,
} from '../support/replication.js';
import { markerCrm, markerMapping, markerMes, runCaughtUp } from '../support/run-marker.js';
import { createSchemas } from '../support/schemas.js';

const mappingYaml = `
- name: docs
  source: public.doc
  target: stg_doc
  key: { doc_id: id }
  columns: { body: body }
${markerMapping}`;

/** Peak RSS of a process in bytes, from /proc (VmHWM). */
function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** `length` characters of incompressible text, computed by PostgreSQL. */
const noise = (length: number) =>
  `(select left(string_agg(md5(random()::text || g::text), ''), ${length}) from generate_series(1, ${Math.ceil(length / 32)}) g)`;

describe('rows measured in bytes (wide rows, packets, heap)', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('wide');

  beforeAll(async () => {
    dbs = await createTestDatabases('wide_rows');
    await createSchemas(dbs, `create table doc (id int primary key, body text); ${markerCrm}`, [
      'create table stg_doc (doc_id int primary key, body longtext)',
      markerMes,
    ]);
    await createReplication(dbs, name, ['doc', 'marker']);
  });

  afterEach(() => endRun(run));
  afterAll(() => endStream(dbs, name, run));

  const caughtUp = (timeoutMs: number) => runCaughtUp(dbs, run, timeoutMs);

  it('replicates one transaction of 3,000 rows × 60 KB with RSS under 256 MB and no restart', async () => {
    run = startRun([], replicationEnv(dbs, name, writeMappings({ 'm.yaml': mappingYaml })));
    await caughtUp(30_000);
    await dbs.pg.query(
      `insert into doc select i, ${noise(60_000)} || i from generate_series(1, 3000) i`,
    );
    await caughtUp(120_000);
    expect(run.child.exitCode, run.output()).toBeNull();
    const rss = peakRss(run.child.pid!);
    const [target] = await dbs.mysql.query(
      'select count(*) as n, sum(length(body)) as bytes from stg_doc',
    );
    const source = await dbs.pg.query('select count(*) as n, sum(length(body)) as bytes from doc');
    const copied = (target as { n: string; bytes: string }[])[0]!;
    expect({ n: Number(copied.n), bytes: String(copied.bytes) }).toEqual({
      n: 3000,
      bytes: String(source.rows[0].bytes),
    });
    expect(rss).toBeLessThan(256 * 1024 * 1024);
    expect(run.output()).not.toMatch(/"state":"(source|target) down"/);
    expect((await stopRun(run)).code).toBe(0);
  }, 300_000);

  it('sends a row larger than max_allowed_packet to the dead letters and goes on', async () => {
    const [packet] = await dbs.mysql.query('select @@max_allowed_packet as bytes');
    const tooLarge = Number((packet as { bytes: number }[])[0]!.bytes) + 4 * 1024 * 1024;
    run = startRun([], replicationEnv(dbs, name, writeMappings({ 'm.yaml': mappingYaml })));
    await caughtUp(30_000);
    await dbs.pg.query(
      `insert into doc values (9001, ${noise(tooLarge)}), (9002, 'small after it')`,
    );
    await caughtUp(120_000);
    expect(run.child.exitCode, run.output()).toBeNull();
    const [rows] = await dbs.mysql.query(
      'select doc_id, body from stg_doc where doc_id in (9001, 9002)',
    );
    expect(rows).toEqual([{ doc_id: 9002, body: 'small after it' }]);
    const [letters] = await dbs.mysql.query(
      'select mapping_name, key_values, error from millrace_dead_letters',
    );
    expect(letters).toHaveLength(1);
    const letter = (letters as { mapping_name: string; key_values: string; error: string }[])[0]!;
    expect(letter.mapping_name).toBe('docs');
    expect(JSON.parse(letter.key_values)).toEqual({ doc_id: 9001 });
    expect(letter.error).toMatch(
      /mapping docs: the row .* is \d+ bytes as SQL, over the MES's max_allowed_packet/,
    );
    expect((await stopRun(run)).code).toBe(0);
  }, 180_000);
});
