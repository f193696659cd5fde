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
  waitFor,
  writeMappings,
} from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';

const mapping = (columns: string) => `
name: parts
source: public.part
target: stg_part
key: { part_id: id }
columns: { ${columns} }
`;

/** Source rows as the target must hold them, in SQL. */
const expected = `select id::text as id, name, coalesce(c, '<none>') as c from part order by id`;
const actual = `select cast(part_id as char) as id, name, coalesce(c, '<none>') as c from stg_part order by part_id`;

describe('a replayed schema (changes decoded before an ADD COLUMN)', () => {
  let dbs: TestDatabases;
  let run: RunningCli | undefined;
  const name = uniqueName('replay');

  beforeAll(async () => {
    dbs = await createTestDatabases('schema_replay');
    await createSchemas(dbs, 'create table part (id int primary key, name text not null)', [
      'create table stg_part (part_id int primary key, name varchar(40), c varchar(40) null)',
    ]);
    await createReplication(dbs, name, ['part']);
  });

  afterEach(() => endRun(run));
  afterAll(() => endStream(dbs, name, run));

  async function rows(sql: string, side: 'pg' | 'mysql'): Promise<unknown[]> {
    if (side === 'pg') return (await dbs.pg.query(sql)).rows;
    const [result] = await dbs.mysql.query(sql);
    return result as unknown[];
  }

  it('catches up through the older definition and maps the new column after it', async () => {
    const firstDir = writeMappings({ 'parts.yaml': mapping('name: name') });
    run = startRun([], replicationEnv(dbs, name, firstDir));
    await dbs.pg.query("insert into part values (1, 'one'), (2, 'two')");
    await waitFor('the first rows', async () => (await rows(actual, 'mysql')).length === 2);
    expect((await stopRun(run)).code).toBe(0);

    // While stopped: changes under the old definition, then the new column, then changes with it.
    await dbs.pg.query("update part set name = 'one again' where id = 1");
    await dbs.pg.query("insert into part values (3, 'three')");
    await dbs.pg.query('alter table part add column c text');
    await dbs.pg.query("update part set c = 'see' where id = 2");
    await dbs.pg.query("insert into part values (4, 'four', 'for')");

    const secondDir = writeMappings({ 'parts.yaml': mapping('name: name, c: c') });
    run = startRun([], replicationEnv(dbs, name, secondDir));
    await waitFor('the replay to catch up', async () => {
      if (run?.child.exitCode !== null) return true;
      return (
        JSON.stringify(await rows(actual, 'mysql')) === JSON.stringify(await rows(expected, 'pg'))
      );
    });
    expect(run.child.exitCode, run.output()).toBeNull();
    expect(await rows(actual, 'mysql')).toEqual(await rows(expected, 'pg'));
    expect(run.output()).not.toContain('DDL_DRIFT');
    expect((await stopRun(run)).code).toBe(0);
  });

  it('still stops with exit 3 when a mapped column really disappears', async () => {
    const dir = writeMappings({ 'parts.yaml': mapping('name: name, c: c') });
    run = startRun([], replicationEnv(dbs, name, dir));
    await dbs.pg.query("insert into part values (5, 'five', 'fife')");
    await waitFor('row 5', async () => (await rows(actual, 'mysql')).length === 5);
    await dbs.pg.query('alter table part drop column c');
    await dbs.pg.query("insert into part values (6, 'six')");
    const result = await run.done;
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(
      /mapping parts .*source column public\.part\.c was dropped or renamed/,
    );
    expect((await rows(actual, 'mysql')).length).toBe(5);
  });
});
