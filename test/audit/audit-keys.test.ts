import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backfilledEnv } from '../support/backfilled.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { auditJson, countsOf, mappingOf } from './support.js';

/**
 * Keys whose order the two databases disagree on (text under a case- and accent-insensitive
 * MySQL collation against PostgreSQL's), uuid keys, JSON documents and soft deletes: the audit
 * must find exactly what was broken, whichever way it walks the key space.
 */
const crmSchema = `
  create table doc (
    code text primary key, body jsonb, amount numeric(10,3), at timestamptz, data bytea, label text
  );
  create table tok (id uuid primary key, n int not null, name text);
  insert into doc values
    ('apple', '{"a": 1, "b": {"c": [1, 2.5, "x"]}}', 1.5, '2024-01-01 00:00:00.000001+00', '\\x00ff', 'Äpfel'),
    ('Banana', '{"z": null, "a": "é"}', -0.001, '2024-02-29 23:59:59.999999+00', '\\x', 'ok'),
    ('10', '[]', 0, null, null, null),
    ('9', '{}', 100, '1999-12-31 23:00:00+00', '\\xdeadbeef', '9'),
    ('Élan', '{"k": "v"}', 2, '2024-06-01 12:00:00+02', null, 'accent'),
    ('zeta', '{"n": 1.0}', 3.25, null, null, 'last'),
    ('a-b', null, null, null, null, 'dash'),
    ('a_b', '{"x": true}', 4, null, null, 'underscore'),
    ('x y', '"text"', 5, null, null, 'space'),
    ('gone', '{"old": 1}', 6, null, null, 'deleted later');
  insert into tok select md5(i::text)::uuid, i - 3, 'token ' || i from generate_series(1, 300) i;
`;

const mesSchema = [
  `create table stg_doc (
    code varchar(64) not null primary key, body json null, amount decimal(10,3) null,
    at datetime(6) null, data blob null, label varchar(100) null,
    is_deleted tinyint(1) not null default 0, deleted_at datetime(6) null
  ) default charset utf8mb4 collate utf8mb4_unicode_ci`,
  `create table stg_tok (id char(36) not null primary key, n int not null, name varchar(50))
   default charset utf8mb4 collate utf8mb4_general_ci`,
];

const mappingsYaml = `
- name: docs
  source: public.doc
  target: stg_doc
  key: { code: code }
  columns: { body: body, amount: amount, at: at, data: data, label: label }
  onDelete: soft
  softDelete: { flag: is_deleted, at: deleted_at }
- name: tokens
  source: public.tok
  target: stg_tok
  key: { id: id }
  columns: { n: n, name: name }
  filter: { n: { gte: 0 } }
  onDelete: delete
`;

describe('millrace audit across collations, uuid keys, JSON and soft deletes', () => {
  let dbs: TestDatabases;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_keys');
    env = await backfilledEnv(
      dbs,
      { crm: crmSchema, mes: mesSchema, mappings: { 'docs.yaml': mappingsYaml } },
      'audit',
    );
    // A source delete the stream would have turned into a soft delete.
    await dbs.pg.query(`delete from doc where code = 'gone'`);
    await dbs.mysql.query(
      `update stg_doc set is_deleted = 1, deleted_at = '2024-01-01' where code = 'gone'`,
    );
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  it('is consistent: text keys by lookup, uuid keys by range with per-chunk digests', async () => {
    const { report, result } = await auditJson(env, 0);
    expect(countsOf(report, 'docs')).toEqual({
      sourceRows: 9,
      targetRows: 9,
      matched: 9,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(countsOf(report, 'tokens')).toEqual({
      sourceRows: 298,
      targetRows: 298,
      matched: 298,
      missing: 0,
      extra: 0,
      different: 0,
    });
    expect(result.stderr).toMatch(/"mapping":"docs","strategy":"lookup"/);
    expect(result.stderr).toMatch(
      /"mapping":"tokens","strategy":"range","hashing":true,.*"hashedChunks":1,"rowChunks":0/,
    );
  });

  it('treats a JSON document with other key order or number spelling as equal', async () => {
    await dbs.mysql.query(
      `update stg_doc set body = '{"b":{"c":[1,2.50,"x"]},"a":1.0}' where code = 'apple'`,
    );
    await dbs.mysql.query(`update stg_doc set body = '{"a":"é","z":null}' where code = 'Banana'`);
    const { report } = await auditJson(env, 0);
    expect(mappingOf(report, 'docs').matched).toBe(9);
  });

  it('finds exactly the broken keys and cells', async () => {
    const q = (sql: string, values: unknown[] = []) => dbs.mysql.query(sql, values);
    await q(`update stg_doc set body = '{"a":1,"b":{"c":[1,2.5,"y"]}}' where code = 'apple'`);
    await q(`update stg_doc set amount = 2.001 where code = 'Élan'`);
    await q(`update stg_doc set data = unhex('00fe') where code = 'apple'`);
    // Same row under the case-insensitive collation, but not the same key.
    await q(`update stg_doc set code = 'ZETA' where code = 'zeta'`);
    // Soft-deleted on the MES, live in the CRM: missing.
    await q(`update stg_doc set is_deleted = 1 where code = 'x y'`);
    await q(`insert into stg_doc (code, label) values ('ghost', 'never in the CRM')`);
    // Trailing space: another key for PostgreSQL, and for MariaDB's PAD SPACE collation the same.
    await q(`update stg_doc set label = 'underscore ' where code = 'a_b'`);
    const [tokens] = await q('select id from stg_tok order by id limit 3');
    const ids = (tokens as { id: string }[]).map((row) => row.id);
    await q('delete from stg_tok where id = ?', [ids[0]]);
    await q(`update stg_tok set name = 'changed' where id = ?`, [ids[2]]);
    // A token outside the filter (n < 0) on the MES: extra.
    const outside = await dbs.pg.query(
      `select id::text as id from tok where n < 0 order by id limit 1`,
    );
    const outsideId = (outside.rows[0] as { id: string }).id;
    await q(`insert into stg_tok values (?, -1, 'token')`, [outsideId]);

    const { report } = await auditJson(env, 1);
    expect(countsOf(report, 'docs')).toEqual({
      sourceRows: 9,
      targetRows: 9,
      matched: 4,
      missing: 2,
      extra: 2,
      different: 3,
    });
    const docs = mappingOf(report, 'docs').samples;
    expect(docs.missing).toEqual([{ code: 'x y' }, { code: 'zeta' }]);
    expect(docs.extra.map((key) => key.code).sort()).toEqual(['ZETA', 'ghost']);
    const different = Object.fromEntries(
      docs.different.map((sample) => [sample.key.code, sample.columns]),
    );
    expect(different).toEqual({
      apple: {
        body: { source: '{"a":1,"b":{"c":[1,2.5,"x"]}}', target: '{"a":1,"b":{"c":[1,2.5,"y"]}}' },
        data: { source: '00ff', target: '00fe' },
      },
      Élan: { amount: { source: '2.000', target: '2.001' } },
      a_b: { label: { source: 'underscore', target: 'underscore ' } },
    });
    expect(countsOf(report, 'tokens')).toEqual({
      sourceRows: 298,
      targetRows: 298,
      matched: 296,
      missing: 1,
      extra: 1,
      different: 1,
    });
    const tokensSamples = mappingOf(report, 'tokens').samples;
    expect(tokensSamples.missing).toEqual([{ id: ids[0] }]);
    expect(tokensSamples.extra).toEqual([{ id: outsideId }]);
    expect(tokensSamples.different).toEqual([
      {
        key: { id: ids[2] },
        columns: { name: { source: expect.stringMatching(/^token \d+$/), target: 'changed' } },
      },
    ]);
  });

  it('repairs through the writer: upserts, soft-deletes extras, then re-checks to consistent', async () => {
    // An upsert cannot respell a key the collation calls equal (ON DUPLICATE KEY UPDATE keeps
    // the stored key): that one is put back by hand, the rest is the repair's.
    await dbs.mysql.query(`update stg_doc set code = 'zeta' where code = 'ZETA'`);
    const { report } = await auditJson(env, 0, ['--repair']);
    expect(report.consistent).toBe(true);
    const [rows] = await dbs.mysql.query(
      `select code, is_deleted, deleted_at is not null as has_deleted_at from stg_doc where code in ('ghost', 'x y', 'gone') order by code`,
    );
    expect(rows).toEqual([
      { code: 'ghost', is_deleted: 1, has_deleted_at: 1 },
      { code: 'gone', is_deleted: 1, has_deleted_at: 1 },
      { code: 'x y', is_deleted: 0, has_deleted_at: 0 },
    ]);
    await auditJson(env, 0);
  });
});
