import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalColumnSql } from '../../src/audit/chunk-hash.js';
import { jsTrimCharacters } from '../../src/audit/digest-rules.js';
import { ValueError } from '../../src/errors/millrace-error.js';
import {
  type PgSession,
  pgCanonicalSql,
  pgRejectSql,
  pgTextLiteral,
} from '../../src/values/pg-canonical-sql.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { createLane, derivedLaneTypes, type Lane, laneTypes, moodLabels } from '../values/lanes.js';

/**
 * The digest strategy is only as exact as its SQL renderings. For every lane of the values
 * module's round-trip catalogue, each value is stored in PostgreSQL and rendered there by the
 * digest's expression; that text must be exactly the canonical form of what the conversion
 * makes of the value (or the rejection mark where the conversion refuses it). The converted
 * value is then stored in MariaDB and rendered there by the target's expression, which must give
 * the same text. Lanes without a rendering must be the ones documented as compared by rows.
 */

/** Lanes the digest does not render (their mappings are compared row by row). */
const declined = new Set([
  'int4dec',
  'float8',
  'float4',
  'time',
  'timetz',
  'uuidbin',
  'jsonb',
  'json',
  'texts',
  'texts2',
  'int8s',
  'nums',
  'floats',
  'bools',
  'bytea',
  'varbin',
  'd_dec',
  'd_int',
  'd_dt',
]);

const long = (unit: string, count: number) => unit.repeat(count);

/** PostgreSQL input literals per rendered lane: edges, rejections, NULL. */
const inputs: Readonly<Record<string, readonly (string | null)[]>> = {
  int2: ['-32768', '-1', '0', '1', '32767', null],
  int4: ['-2147483648', '0', '42', '2147483647', null],
  int8: ['-9223372036854775808', '-1', '0', '9223372036854775807', null],
  int8u: ['-5', '-1', '0', '1', '9223372036854775807', null],
  num38: [
    '0',
    '1.5',
    '-1.25',
    '-0.00000000001',
    '0.00000000005',
    '-0.00000000005',
    '1234567890123456789012345678.0123456789',
    '-1234567890123456789012345678.01234567891',
    '1e28',
    '9999999999999999999999999999.99999999995',
    'NaN',
    'Infinity',
    '-Infinity',
    null,
  ],
  numround: [
    '1.00005',
    '-1.00005',
    '0.00004',
    '-0.00004',
    '-0.00005',
    '9999999999999999.99994',
    '9999999999999999.99995',
    '-9999999999999999.99995',
    '0',
    'NaN',
    null,
  ],
  bool: ['t', 'f', null],
  varchar: ['', 'abc', 'ünï ☃', '𝄞𝄞 emoji 😀', long('x', 20), 'tab\there', 'a\nb', "it's", null],
  char: ['a  ', '  a', '', long('é', 10), 'abcdefghij', null],
  bpchar: ['ab', 'ab  ', '', long('ü', 8), null],
  text: [
    '',
    'é',
    long('x', 65_535),
    long('x', 65_536),
    long('é', 32_768),
    long('😀', 16_384),
    null,
  ],
  date: [
    '0001-01-01',
    '0999-06-15',
    '2024-02-29',
    '9999-12-31',
    '10000-01-01',
    '0044-03-15 BC',
    'infinity',
    '-infinity',
    null,
  ],
  ts6: [
    '2024-01-01 12:34:56.123456',
    '2024-01-01 12:34:56',
    '0001-01-01 00:00:00',
    '9999-12-31 23:59:59.999999',
    '10000-01-01 00:00:00',
    '0001-12-31 23:00:00 BC',
    'infinity',
    '-infinity',
    null,
  ],
  ts3: ['2024-01-01 12:34:56.123456', '2024-01-01 12:34:56.9999', '0999-01-01 00:00:00.5', null],
  ts0: ['2024-01-01 12:34:56.123', '2024-01-01 12:34:56.999', '9999-12-31 23:59:59.999', null],
  tstz: [
    '2024-01-01 12:34:56.123456+05:30',
    '2024-03-31 02:30:00+02',
    '0001-01-01 00:30:00+01',
    '9999-12-31 23:30:00-01',
    '1900-01-01 00:00:00+00:53:28',
    'infinity',
    null,
  ],
  uuid: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC999C0B4EF8BB6D6BB9BD380A12', null],
  mood: [...moodLabels, null],
  moodtext: [...moodLabels, null],
  d_text: ['', 'short', 'exactly8', 'nine char', '😀😀😀😀😀😀😀😀', ' padded ', null],
};

let db: TestDatabases;
const lanes: Lane[] = [];

beforeAll(async () => {
  db = await createTestDatabases('digest rendering');
  await db.pg.query(
    `create type mood as enum (${moodLabels.map((label) => `'${label.replace(/'/g, "''")}'`).join(', ')})`,
  );
  for (const [name, pgType, mysqlType] of laneTypes)
    lanes.push(await createLane(db, name, pgType, mysqlType));
  for (const [name, mysqlType] of [...derivedLaneTypes, ['d_text', 'varchar(8)'] as const])
    lanes.push(await createLane(db, name, 'text', mysqlType, true));
}, 120_000);

afterAll(async () => {
  await db?.drop();
});

/** What the conversion and canonical form make of a text form: canonical text, null, or 'reject'. */
function expectedForm(lane: Lane, text: string | null): { value: unknown; form: string | null } {
  try {
    const value = lane.convert(text);
    return { value, form: lane.canonical(value) };
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    return { value: undefined, form: 'reject' };
  }
}

describe('digest renderings against the values module', () => {
  it('renders every catalogue lane exactly, or declines it as documented', async () => {
    const [mark] = (await db.pg.query<{ mark: string }>(`select ${pgRejectSql} as mark`)).rows;
    let checked = 0;
    // With the session's DateStyle ISO (dates through ::text) and without (through to_char); in
    // a UTC session (timestamptz printed as it is) and in another zone (moved to UTC first).
    const sessions: readonly PgSession[] = [{ isoDateStyle: true, utcZone: true }, {}];
    for (const [lane, session] of lanes.flatMap((lane) =>
      sessions.map((session) => [lane, session] as const),
    )) {
      await db.pg.query(`set time zone '${session.utcZone ? 'UTC' : 'Asia/Kolkata'}'`);
      const derived = lane.name.startsWith('d_');
      const render = pgCanonicalSql(derived ? 'text' : lane.source, lane.target, session);
      if (render === undefined) {
        expect(declined.has(lane.name), `${lane.name} has no rendering`).toBe(true);
        continue;
      }
      expect(declined.has(lane.name), `${lane.name} is rendered`).toBe(false);
      const values = inputs[lane.name];
      expect(values, `inputs for ${lane.name}`).toBeDefined();
      const { rows } = await db.pg.query<{ v: string | null; r: string | null }>(
        `with stored as (
           insert into "p_${lane.name}" (ord, v)
           select ord, v::${derived ? 'text' : lane.pgType} from unnest($1::text[]) with ordinality as input(v, ord)
           returning ord, v)
         select v, ${render('v')} as r from stored order by ord`,
        [values],
      );
      await db.pg.query(`truncate "p_${lane.name}"`);
      await db.mysql.query(`delete from \`m_${lane.name}\``);
      const target = canonicalColumnSql(lane.target)!;
      expect(target, `${lane.name}: MySQL rendering`).toBeDefined();
      for (const [index, row] of rows.entries()) {
        const expected = expectedForm(lane, row.v);
        const rendered = row.r === mark!.mark ? 'reject' : row.r;
        expect(rendered, `${lane.name}: PostgreSQL rendering of ${JSON.stringify(row.v)}`).toBe(
          expected.form,
        );
        if (expected.form === 'reject') continue;
        await db.mysql.query(`insert into \`m_${lane.name}\` (id, v) values (?, ?)`, [
          index,
          expected.value,
        ]);
        const [stored] = await db.mysql.query({
          sql: `select v, ${target.sql} from \`m_${lane.name}\` where id = ?`,
          rowsAsArray: true,
          values: [index],
        });
        const [value, text] = (stored as [unknown, string | null][])[0]!;
        expect(lane.canonical(value), `${lane.name}: stored ${JSON.stringify(row.v)}`).toBe(
          expected.form,
        );
        expect(text, `${lane.name}: MySQL rendering of ${JSON.stringify(row.v)}`).toBe(
          expected.form,
        );
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(200);
  }, 300_000);

  it('checks a limit on the untrimmed text first, with the result of checking the trimmed', async () => {
    // A trim rule's rendering (digest-rules.ts) passes the column's own text as `longest`.
    const lane = lanes.find((candidate) => candidate.name === 'd_text')!;
    const values = [
      '  exactly8  ',
      'exactly8',
      ' nine char ',
      '😀😀😀😀😀😀😀😀\u3000',
      `${' '.repeat(40)}x`,
      '',
      '   ',
      null,
    ];
    const trim = (value: string) => `btrim(${value}, ${pgTextLiteral(jsTrimCharacters)})`;
    const render = pgCanonicalSql('text', lane.target)!;
    const [mark] = (await db.pg.query<{ mark: string }>(`select ${pgRejectSql} as mark`)).rows;
    const { rows } = await db.pg.query<{ v: string | null; r: string | null }>(
      `select v, ${render(trim('v'), 'v')} as r
         from unnest($1::text[]) with ordinality as input(v, ord) order by ord`,
      [values],
    );
    for (const row of rows) {
      const expected = expectedForm(lane, row.v === null ? null : row.v.trim());
      const rendered = row.r === mark!.mark ? 'reject' : row.r;
      expect(rendered, `trimmed ${JSON.stringify(row.v)}`).toBe(expected.form);
    }
  });

  it('joins the same texts in the same order to the same MD5 in both databases', async () => {
    // What both digest statements do to a bucket's rows (sql/bucket-digests.ts): rows ordered by
    // the key's first column, then by the other key columns' texts byte by byte, their texts
    // joined and hashed.
    const seconds = ['a', 'B', 'é', 'e', 'Z', '😀', 'ñ', '', 'a\u0001', 'ab', 'Ab', 'z'];
    const texts = [
      '',
      ';',
      ':',
      '0:',
      '7:ñame 😀;',
      '1;3:abc;12:2024-01-01 00:00:00.000001;',
      'x'.repeat(70_000),
      '\u0001\u001f\'"\\',
      ...Array.from({ length: 200 }, (_, i) => `${i};${i * 7919}:${'é'.repeat(i % 13)}`),
    ];
    // Keys unique, as in a bucket; given in reverse, so both sides must sort.
    const rows = texts
      .map((t, i) => ({ k: Math.floor(i / 12), s: seconds[(i * 5) % 12]!, t }))
      .reverse();
    const expected = [...rows].sort(
      (a, b) => a.k - b.k || Buffer.compare(Buffer.from(a.s), Buffer.from(b.s)),
    );
    const md5 = createHash('md5')
      .update(expected.map((row) => row.t).join(''))
      .digest('hex');
    const { rows: pgRows } = await db.pg.query<{ h: string }>(
      `select md5(string_agg(t, '' order by k, s collate "C")) as h
         from unnest($1::int[], $2::text[], $3::text[]) as input(k, s, t)`,
      [rows.map((row) => row.k), rows.map((row) => row.s), rows.map((row) => row.t)],
    );
    expect(pgRows[0]!.h).toBe(md5);
    await db.mysql.query(
      `create temporary table joined (k int, s varchar(8), t longtext)
         default charset utf8mb4 collate utf8mb4_unicode_ci`,
    );
    await db.mysql.query('insert into joined (k, s, t) values ?', [
      rows.map((row) => [row.k, row.s, row.t]),
    ]);
    await db.mysql.query('set session group_concat_max_len = 1073741824');
    const [mysqlRows] = await db.mysql.query(
      "select md5(group_concat(t order by k, cast(s as binary) separator '')) as h from joined",
    );
    expect((mysqlRows as { h: string }[])[0]!.h).toBe(md5);
  });

  it("trims with btrim exactly what JavaScript's trim removes", async () => {
    const set = new Set(jsTrimCharacters);
    for (let code = 0; code <= 0xffff; code++) {
      if (code >= 0xd800 && code <= 0xdfff) continue;
      const char = String.fromCharCode(code);
      expect(set.has(char), `U+${code.toString(16)}`).toBe(char.trim() === '');
    }
    const samples = [`${jsTrimCharacters}a b${jsTrimCharacters}`, ' \u00a0x\u3000', 'x', '\u200bx'];
    for (const sample of samples) {
      const { rows } = await db.pg.query<{ t: string }>(
        `select btrim($1::text, ${pgTextLiteral(jsTrimCharacters)}) as t`,
        [sample],
      );
      expect(rows[0]!.t).toBe(sample.trim());
    }
  });
});
