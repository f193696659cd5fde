import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildChunkHasher, columnSql, escapeText } from '../../src/audit/chunk-hash.js';
import type { ExpectedRow, RowModel } from '../../src/audit/row-model.js';
import { hashTargetRange } from '../../src/audit/sql/target-range-hash.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { compileCanonical } from '../../src/values/canonical.js';
import type { TargetColumn } from '../../src/values/column-types.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * The per-chunk digest is only exact if MySQL renders every stored value as exactly its
 * canonical form (compileCanonical of what mysql2 reads). Checked here on edge values of every
 * column type the digest accepts, against the real server.
 */
const columns = `
  id int not null primary key,
  i int null, ub bigint unsigned null, flag tinyint(1) null, d decimal(10,3) null, d0 decimal(5,0) null,
  ch char(5) null, vc varchar(40) null, tx text null, en enum('a','b c','É') null,
  dt date null, t0 datetime null, t6 datetime(6) null, ts3 timestamp(3) null, tm time(6) null,
  yr year null, bt bit(10) null, bn binary(4) null, vb varbinary(10) null, bl blob null
`;

const esc = String.fromCharCode(27);
const rs = String.fromCharCode(30);
const us = String.fromCharCode(31);

const rows: unknown[][] = [
  [
    1,
    -2147483648,
    '18446744073709551615',
    1,
    '-0.001',
    '99999',
    'ab ',
    'tail  ',
    '',
    'b c',
    '1000-01-01',
    '1000-01-01 00:00:00',
    '9999-12-31 23:59:59.999999',
    '1970-01-01 00:00:01.000',
    '-838:59:59.000000',
    1901,
    1023,
    Buffer.from([0, 1]),
    Buffer.alloc(0),
    Buffer.from('x'),
  ],
  [
    2,
    0,
    '0',
    0,
    '0.000',
    '-5',
    '',
    `ctl ${esc}${rs}${us} \\ end`,
    'emoji 🏭 ünï',
    'É',
    '2024-02-29',
    '2024-02-29 12:34:56',
    '2024-02-29 12:34:56.000001',
    '2038-01-19 03:14:07.999',
    '00:00:00.000001',
    2155,
    0,
    Buffer.from([255, 255, 255, 255]),
    Buffer.from([0, 0]),
    Buffer.from([0x1b, 0x1f]),
  ],
  [
    3,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
    null,
  ],
  [
    4,
    7,
    '42',
    1,
    '123456.5',
    '0',
    'x',
    us,
    `${rs}`,
    'a',
    '2000-01-01',
    '2000-01-01 00:00:00',
    '2000-01-01 00:00:00.5',
    '2000-01-01 00:00:00.5',
    '838:59:59.999999',
    2000,
    512,
    Buffer.from('ab'),
    Buffer.from('abc'),
    Buffer.from([0]),
  ],
];

describe('per-chunk digests render values exactly as the audit compares them', () => {
  let dbs: TestDatabases;
  let table: Map<string, TargetColumn>;

  beforeAll(async () => {
    dbs = await createTestDatabases('audit_hash');
    await dbs.mysql.query(
      `create table h (${columns}) default charset utf8mb4 collate utf8mb4_unicode_ci`,
    );
    await dbs.mysql.query("SET SESSION time_zone = '+00:00'");
    await dbs.mysql.query('SET SESSION group_concat_max_len = 1073741824');
    for (const row of rows) {
      await dbs.mysql.query(`insert into h values (${row.map(() => '?').join(',')})`, row);
    }
    const introspected = await introspectTarget(dbs.mysql, ['h']);
    table = new Map(introspected.get('h')!.columns);
  });

  afterAll(async () => {
    await dbs?.drop();
  });

  it('renders each cell as exactly the canonical form of what mysql2 reads', async () => {
    const names = [...table.keys()];
    for (const name of names) {
      const column = table.get(name)!;
      const rendered = columnSql(column);
      expect(rendered, name).toBeDefined();
      const canonical = compileCanonical(column);
      const [read] = await dbs.mysql.query({
        sql: `select \`${name}\`, ${rendered!.sql} from h order by id`,
        rowsAsArray: true,
      });
      for (const [value, sqlText] of read as [unknown, string | null][]) {
        const form = canonical(value);
        if (form === null) {
          expect(sqlText, name).toBeNull();
          continue;
        }
        expect(sqlText, `${name}: ${String(value)}`).toBe(rendered!.text ? escapeText(form) : form);
      }
    }
  });

  it('gives the server digest of a range and the digest of the same rows computed here', async () => {
    const all = [...table.values()];
    const key = all.filter((column) => column.name === 'id');
    const compared = all.filter((column) => column.name !== 'id');
    const model = {
      keyColumns: ['id'],
      keyTargetColumns: key,
      compareTargetColumns: compared,
      flagColumn: undefined,
    } as unknown as RowModel;
    const hasher = buildChunkHasher(model)!;
    expect(hasher).toBeDefined();
    const [read] = await dbs.mysql.query({ sql: 'select * from h order by id', rowsAsArray: true });
    const canon = all.map(compileCanonical);
    const expected = (read as unknown[][]).map(
      (values) =>
        ({
          keyParts: [canon[0]!(values[0])!],
          values: values.slice(1).map((value, index) => canon[index + 1]!(value)),
        }) as unknown as ExpectedRow,
    );
    const statement = hashTargetRange('h', hasher.rowSql, ['id'], {}, undefined);
    const [server] = await dbs.mysql.query({ sql: statement.sql, rowsAsArray: true }, [
      ...statement.values,
    ]);
    const [count, digest] = (server as [number, string][])[0]!;
    expect(Number(count)).toBe(rows.length);
    expect(digest).toBe(hasher.digest(expected));

    // One cell changed by one character changes the digest; a NULL is not an empty string.
    const changed = expected.map((row, index) =>
      index === 1
        ? ({ ...row, values: row.values.map((v, i) => (i === 6 ? `${v}x` : v)) } as ExpectedRow)
        : row,
    );
    expect(hasher.digest(changed)).not.toBe(digest);
    const emptied = expected.map((row, index) =>
      index === 2 ? ({ ...row, values: row.values.map(() => '') } as ExpectedRow) : row,
    );
    expect(hasher.digest(emptied)).not.toBe(digest);
  });

  it('declines columns whose canonical form the server cannot produce', () => {
    const json = {
      ...table.get('vc')!,
      name: 'j',
      dataType: 'json',
      columnType: 'json',
      isJson: true,
    };
    const float = { ...table.get('i')!, name: 'f', dataType: 'double', columnType: 'double' };
    expect(columnSql(json)).toBeUndefined();
    expect(columnSql(float)).toBeUndefined();
  });
});
