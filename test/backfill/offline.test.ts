import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, finished, runCli, startCli } from '../support/cli.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { waitFor } from '../support/replication.js';
import { createSchemas } from '../support/schemas.js';
import {
  backfillRows,
  compare,
  countOf,
  crmSchema,
  insertItems,
  mappingsYaml,
  mesSchema,
  offlineBackfillEnv,
  type Table,
} from './support.js';

/**
 * `millrace backfill` with no replicator running: it copies itself, chunk by chunk, each chunk
 * committed with its progress row. Every expectation is computed from the CRM in SQL.
 */
describe('millrace backfill (offline)', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('backfill_offline');
    await createSchemas(dbs, crmSchema, mesSchema);
    env = offlineBackfillEnv(dbs, mappingsYaml, 'info');
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  const backfill = (...args: string[]): Promise<CliResult> => runCli(['backfill', ...args], env);

  async function expectEqual(table: Table): Promise<void> {
    const { expected, actual } = await compare(dbs, table);
    expect(actual, table).toEqual(expected);
  }

  it('copies every mapping exactly as the source holds it', async () => {
    await insertItems(dbs, 1, 600);
    await dbs.pg.query(`insert into line
      select o, l, 'SKU-' || o || '-' || l, case when (o + l) % 6 = 0 then 0 else (o * l) % 97 + 0.25 end
        from generate_series(1, 60) o, generate_series(1, 9) l`);
    await dbs.pg.query(`insert into person
      select g, 'Person ' || g, g % 4 <> 0 from generate_series(1, 50) g`);
    // Text keys whose order differs between PostgreSQL's collation, bytes and MySQL's.
    await dbs.pg.query(`insert into tag values
      ('b', 'bee'), ('B2', 'Bee two'), ('a-1', 'dash'), ('a_1', 'underscore'), ('Äpfel', 'apples'),
      ('z', 'zed'), ('10', 'ten'), ('9', 'nine'), ('ß', 'sharp s'), ('nolabel', null)`);
    await dbs.pg.query(
      `insert into odd values (1, '2024-01-01 00:00:00+00'), (2, 'infinity'), (3, '2024-12-31 23:59:59.5+00')`,
    );

    // A small chunk size: many chunks, keyset boundaries inside composite keys.
    const result = await backfill('--chunk-size', '7');
    expect(result.stderr).not.toMatch(/"level":50/);
    expect(result.code, result.stderr).toBe(0);
    for (const table of ['items', 'lines', 'people', 'tags'] as const) await expectEqual(table);
    expect(await countOf(dbs, 'stg_empty')).toBe(0);

    // The summary: one line per mapping, in mapping order.
    const lines = result.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^mapping\s+mode\s+rows copied\s+dead letters\s+removed\s+seconds\s+rows\/s$/,
    );
    expect(lines.slice(1).map((line) => line.split(/\s+/)[0])).toEqual([
      'items',
      'lines',
      'empties',
      'people',
      'tags',
      'odds',
      'marker',
    ]);
    expect(
      lines
        .find((line) => line.startsWith('odds'))
        ?.split(/\s+/)
        .slice(1, 4),
    ).toEqual(['offline', '2', '1']);

    const progress = await backfillRows(dbs);
    for (const [mapping, table, read] of [
      ['items', 'stg_item', 600],
      ['lines', 'stg_line', 540],
      ['empties', 'stg_empty', 0],
      ['people', 'stg_person', 50],
      ['tags', 'stg_tag', 10],
    ] as const) {
      const row = progress.get(mapping)!;
      expect(row, mapping).toMatchObject({
        status: 'done',
        mode: 'offline',
        phase: 'copy',
        prune: 0,
      });
      expect(Number(row.rows_read), mapping).toBe(read);
      expect(Number(row.rows_copied), mapping).toBe(await countOf(dbs, table));
    }

    // The infinite timestamp cannot go into DATETIME(6): a dead letter, the other rows copied.
    const [letters] = await dbs.mysql.query(
      'select mapping_name, operation, key_values, source_values, lsn from millrace_dead_letters',
    );
    expect(letters).toHaveLength(1);
    const letter = (letters as Record<string, string | null>[])[0]!;
    expect(letter).toMatchObject({ mapping_name: 'odds', operation: 'backfill', lsn: null });
    expect(JSON.parse(letter.key_values!)).toEqual({ id: '2' });
    expect(JSON.parse(letter.source_values!)).toMatchObject({ id: '2', stamp: 'infinity' });
    expect(Number(progress.get('odds')!.dead_letters)).toBe(1);
    const [odd] = await dbs.mysql.query('select id from stg_odd order by id');
    expect(odd).toEqual([{ id: 1 }, { id: 3 }]);
  });

  it('removes target rows the source no longer produces when a mapping is backfilled again', async () => {
    await dbs.pg.query('delete from item where id in (1, 2, 5)'); // 2 was a draft anyway
    await dbs.pg.query(`update item set state = 'draft' where id in (4, 8)`); // leave the filter
    await dbs.pg.query(`update item set name = 'renamed ' || id where id between 100 and 110`);
    await dbs.pg.query('delete from line where order_id = 3');
    await dbs.pg.query('update line set qty = 0 where order_id = 4 and line_no = 1');
    await dbs.pg.query('delete from person where id in (1, 2)'); // soft-deleted on the target
    await dbs.pg.query('update person set active = false where id = 3'); // leaves the filter
    await dbs.pg.query(`delete from tag where code in ('b', '9')`); // ignore: kept on the target
    await dbs.pg.query(`update tag set label = null where code = 'z'`); // leaves the filter
    // Rows only the target has (a failed earlier load, a manual insert).
    await dbs.mysql.query(
      `insert into stg_item (item_id, name, state) values (900001, 'ghost', 'PLANNED')`,
    );
    await dbs.mysql.query(`insert into stg_line values (999, 1, 'ghost', 1), (3, 99, 'ghost', 1)`);

    const result = await backfill(
      '--table',
      'items',
      '--table',
      'public.line',
      '--table',
      'stg_person',
      '--table',
      'tags',
      '--chunk-size',
      '5',
    );
    expect(result.code, result.stderr).toBe(0);
    for (const table of ['items', 'lines', 'people'] as const) await expectEqual(table);

    // onDelete soft: deleted and filtered-out people are flagged, with the time of the removal.
    const [people] = await dbs.mysql.query(
      'select person_id, is_deleted, deleted_at is not null as stamped from stg_person where person_id <= 4 order by person_id',
    );
    expect(people).toEqual([
      { person_id: 1, is_deleted: 1, stamped: 1 },
      { person_id: 2, is_deleted: 1, stamped: 1 },
      { person_id: 3, is_deleted: 1, stamped: 1 },
    ]);
    // onDelete ignore keeps rows deleted at the source, but not rows that left the filter.
    const [tags] = await dbs.mysql.query('select code from stg_tag order by cast(code as binary)');
    expect((tags as { code: string }[]).map((row) => row.code)).toEqual([
      '10',
      '9',
      'B2',
      'a-1',
      'a_1',
      'b',
      'Äpfel',
      'ß',
    ]);

    const progress = await backfillRows(dbs);
    expect(progress.get('items')).toMatchObject({ status: 'done', phase: 'prune', prune: 1 });
    // 1, 5 deleted, 4 and 8 filtered out, the ghost: five rows (2 was never on the target).
    expect(Number(progress.get('items')!.rows_removed)).toBe(5);
    // Order 3's seven lines on the target (two had qty 0), line (4, 1) filtered out, two ghosts.
    expect(Number(progress.get('lines')!.rows_removed)).toBe(7 + 1 + 2);
    expect(Number(progress.get('people')!.rows_removed)).toBe(3);
    expect(Number(progress.get('tags')!.rows_removed)).toBe(1);
    // Mappings not selected were left alone.
    expect(progress.get('odds')).toMatchObject({ status: 'done', phase: 'copy' });

    // A second re-backfill finds nothing more to remove, and soft-deleted rows keep their time.
    const [before] = await dbs.mysql.query('select deleted_at from stg_person where person_id = 1');
    const again = await backfill('--table', 'people', '--table', 'items');
    expect(again.code, again.stderr).toBe(0);
    expect(Number((await backfillRows(dbs)).get('people')!.rows_removed)).toBe(0);
    expect(Number((await backfillRows(dbs)).get('items')!.rows_removed)).toBe(0);
    const [after] = await dbs.mysql.query('select deleted_at from stg_person where person_id = 1');
    expect(after).toEqual(before);
  });

  it('resumes from the last committed chunk after SIGKILL, and refuses a second backfill meanwhile', async () => {
    await dbs.pg.query('truncate item');
    await dbs.mysql.query('delete from stg_item');
    await insertItems(dbs, 1, 120_000);
    const child = startCli(
      ['backfill', '--table', 'items', '--chunk-size', '1000', '--restart'],
      env,
    );
    const done = finished(child);
    let copiedAtKill = 0;
    try {
      await waitFor(
        'the first chunks to commit',
        async () => {
          const row = (await backfillRows(dbs)).get('items');
          return row?.status === 'running' && Number(row.rows_copied) >= 3_000;
        },
        60_000,
      );
      // A second backfill of the same slot is refused while this one runs.
      const second = await backfill('--table', 'items');
      expect(second.code).toBe(3);
      expect(second.stderr).toMatch(
        /millrace: another millrace backfill is already copying for slot 'mrt_no_slot'/,
      );
    } finally {
      child.kill('SIGKILL');
      await done;
    }
    // Rows and progress commit together: at any kill, the target holds exactly rows_copied rows.
    const killed = (await backfillRows(dbs)).get('items')!;
    expect(killed.status).toBe('running');
    copiedAtKill = Number(killed.rows_copied);
    expect(await countOf(dbs, 'stg_item')).toBe(copiedAtKill);
    const expectedTotal = Number(
      (await dbs.pg.query(`select count(*) as n from item where state <> 'draft'`)).rows[0].n,
    );
    expect(copiedAtKill).toBeLessThan(expectedTotal);

    const resumed = await backfill('--table', 'items', '--chunk-size', '1000');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming the backfill from its last committed chunk/);
    await expectEqual('items');
    const row = (await backfillRows(dbs)).get('items')!;
    expect(row).toMatchObject({ status: 'done', run_id: killed.run_id });
    expect(Number(row.rows_copied)).toBe(expectedTotal);
    expect(Number(row.rows_read)).toBe(120_000);
    // The resumed run copied only what was missing.
    const summary = resumed.stdout.split('\n').find((line) => line.startsWith('items'))!;
    expect(Number(summary.split(/\s+/)[2])).toBe(expectedTotal);
  });

  it('--restart starts over with a new run', async () => {
    const before = (await backfillRows(dbs)).get('empties')!;
    const result = await backfill('--table', 'empties', '--restart');
    expect(result.code, result.stderr).toBe(0);
    const after = (await backfillRows(dbs)).get('empties')!;
    expect(after.status).toBe('done');
    expect(after.run_id).not.toBe(before.run_id);
  });

  it('rejects a bad --chunk-size and an unknown --table with exit 2', async () => {
    const zero = await backfill('--chunk-size', '0');
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(
      /invalid --chunk-size: expected a whole number of rows from 1 to 1000000 \(got '0'\)/,
    );
    const unknown = await backfill('--table', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--table nope matches no mapping/);
  });

  it('documents itself in --help', async () => {
    const help = await runCli(['backfill', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--table <name>/);
    expect(help.stdout).toMatch(/--chunk-size <rows>/);
    expect(help.stdout).toMatch(/--restart/);
    expect(help.stdout).toMatch(/Examples:/);
  });
});
