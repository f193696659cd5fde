import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfilledEnv } from '../support/backfilled.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { auditJson, countsOf, mappingOf } from './support.js';

/**
 * The digest walk over a pair with many differences: two dense blocks of keys far apart, the
 * first broken in every fourth row or so (its ranges go to the fine bucket width), the second
 * more lightly (a coarse range digested again finely), an empty stretch after them (back to
 * coarse) and a lone extra key far beyond (a sparse bucket read without a second digest). Every
 * broken row must be found, and nothing else. Among the breaks, NULL and '' trade places within
 * a row and between rows: the row text must tell them apart on both engines. The columns are
 * named like the digest statements' aliases (b, n), which must not capture them.
 */
const blockA = 30_000;
const blockB = { first: 200_001, last: 230_000 };
const farKey = 900_000;

const crmSchema = `
  create table walk (id bigint primary key, a text, b text, n integer not null);
  insert into walk
  select g,
         case g % 3 when 0 then '' when 1 then null else 'v' || g end,
         case g % 3 when 0 then null when 1 then '' else 'w' || g end,
         g % 1000
    from (select generate_series(1, ${blockA}) union all
          select generate_series(${blockB.first}, ${blockB.last})) as keys(g);
`;

const mesSchema = [
  `create table stg_walk (
    walk_id bigint not null primary key, a varchar(32) null, b varchar(32) null, n int not null
  ) default charset utf8mb4 collate utf8mb4_unicode_ci`,
];

const mappingsYaml = `
name: walk
source: public.walk
target: stg_walk
key: { walk_id: id }
columns: { a: a, b: b, n: n }
`;

const keysOf = (first: number, last: number, keep: (key: number) => boolean) =>
  Array.from({ length: last - first + 1 }, (_, i) => first + i).filter(keep);

describe('the digest walk over many differences', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_digest_walk');
    env = await backfilledEnv(
      dbs,
      { crm: crmSchema, mes: mesSchema, mappings: { 'walk.yaml': mappingsYaml } },
      'digest_walk',
    );
  }, 180_000);

  afterAll(async () => {
    await dbs?.drop();
  });

  it('finds exactly the rows broken on purpose, NULL and empty text told apart', async () => {
    const q = (sql: string) => dbs.mysql.query(sql);
    const inA = `walk_id <= ${blockA}`;
    const flip = (column: string) =>
      `${column} = case when ${column} = '' then null when ${column} is null then '' else ${column} end`;
    await q(`update stg_walk set n = n + 1 where ${inA} and walk_id % 20 = 3`);
    await q(`delete from stg_walk where ${inA} and walk_id % 20 = 7`);
    // '' becomes NULL and NULL becomes '' in column a only.
    await q(`update stg_walk set ${flip('a')} where ${inA} and walk_id % 20 = 11`);
    // In both columns: ('', NULL) becomes (NULL, '') and back; the other rows stay equal.
    await q(`update stg_walk set ${flip('a')}, ${flip('b')} where ${inA} and walk_id % 20 = 15`);
    await q(`update stg_walk set n = n + 1 where walk_id >= ${blockB.first} and walk_id % 50 = 5`);
    await q(
      `insert into stg_walk (walk_id, a, b, n)
       values (${blockA + 1}, '', null, 1), (${blockA + 2}, null, '', 2), (${farKey}, 'far', null, 3)`,
    );

    const { report } = await auditJson(env, 1, ['--samples', '10000']);
    const walk = mappingOf(report, 'walk');
    expect(walk.strategy).toBe('digest');
    const missing = keysOf(1, blockA, (key) => key % 20 === 7);
    const different = [
      ...keysOf(1, blockA, (key) => key % 20 === 3),
      ...keysOf(1, blockA, (key) => (key % 20 === 11 || key % 20 === 15) && key % 3 !== 2),
      ...keysOf(blockB.first, blockB.last, (key) => key % 50 === 5),
    ];
    const sorted = (keys: readonly (string | number)[]) => keys.map(Number).sort((x, y) => x - y);
    expect(sorted(walk.samples.missing.map((key) => key.walk_id!))).toEqual(sorted(missing));
    expect(sorted(walk.samples.extra.map((key) => key.walk_id!))).toEqual(
      sorted([blockA + 1, blockA + 2, farKey]),
    );
    expect(sorted(walk.samples.different.map((sample) => sample.key.walk_id!))).toEqual(
      sorted(different),
    );
    const rows = blockA + blockB.last - blockB.first + 1;
    expect(countsOf(report, 'walk')).toEqual({
      sourceRows: rows,
      targetRows: rows - missing.length + 3,
      matched: rows - missing.length - different.length,
      missing: missing.length,
      extra: 3,
      different: different.length,
    });
  }, 180_000);
});
