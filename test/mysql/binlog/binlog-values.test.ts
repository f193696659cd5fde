import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent } from '../../../src/pipeline/source-event.js';
import { captureBinlog, currentPosition } from '../../support/binlog-capture.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';

let db: TestDatabases;

/** Every value family, with its declared type. Binary ones are compared in `\x` hex form. */
const columns: Record<string, string> = {
  i_tiny: 'tinyint',
  i_tiny_u: 'tinyint unsigned',
  i_small: 'smallint',
  i_med: 'mediumint',
  i_int: 'int',
  i_int_u: 'int unsigned',
  i_big: 'bigint',
  i_big_u: 'bigint unsigned',
  d_dec: 'decimal(30,10)',
  d_dec0: 'decimal(5,0)',
  f_float: 'float',
  f_double: 'double',
  t_date: 'date',
  t_time: 'time',
  t_time6: 'time(6)',
  t_dt: 'datetime',
  t_dt3: 'datetime(3)',
  t_dt6: 'datetime(6)',
  t_ts: 'timestamp null',
  t_ts6: 'timestamp(6) null',
  t_year: 'year',
  b_bit1: 'bit(1)',
  b_bit10: 'bit(10)',
  b_bit64: 'bit(64)',
  j_json: 'json',
  e_enum: "enum('a','b,c','it''s','x\\\\y')",
  s_set: "set('x','y','z')",
  c_char: 'char(10)',
  c_varchar: 'varchar(50)',
  c_text: 'text',
  c_latin: 'varchar(20) character set latin1',
  u_uuid: 'uuid',
  x_binary: 'binary(4)',
  x_varbinary: 'varbinary(10)',
  x_blob: 'blob',
  x_longblob: 'longblob',
};
const binary = new Set(['x_binary', 'x_varbinary', 'x_blob', 'x_longblob']);
const bits = new Set(['b_bit1', 'b_bit10', 'b_bit64']);

const rows: Record<string, string>[] = [
  {
    i_tiny: '-128',
    i_tiny_u: '255',
    i_small: '-32768',
    i_med: '8388607',
    i_int: '-2147483648',
    i_int_u: '4294967295',
    i_big: '-9223372036854775808',
    i_big_u: '18446744073709551615',
    d_dec: '12345678901234567890.0123456789',
    d_dec0: '-99999',
    f_float: '1.1',
    f_double: '0.1',
    t_date: "'2026-01-02'",
    t_time: "'-838:59:59'",
    t_time6: "'-01:02:03.500000'",
    t_dt: "'9999-12-31 23:59:59'",
    t_dt3: "'2026-01-02 03:04:05.120'",
    t_dt6: "'2026-01-02 03:04:05.000001'",
    t_ts: "'2038-01-19 03:14:07'",
    t_ts6: "'1970-01-01 00:00:01.999999'",
    t_year: '2155',
    b_bit1: "b'1'",
    b_bit10: "b'1010101010'",
    b_bit64: '0xffffffffffffffff',
    j_json: `'{"a": [1, 2.50, "x"], "n": null, "big": 12345678901234567890}'`,
    e_enum: "'b,c'",
    s_set: "'x,z'",
    c_char: "'ab'",
    c_varchar: "'héllo 😀 \\\\ ''q'''",
    c_text: "'line\\nnext\\ttab'",
    c_latin: "'café'",
    u_uuid: "'123e4567-e89b-12d3-a456-426614174000'",
    x_binary: '0x01000000',
    x_varbinary: '0x00ff00',
    x_blob: '0xdeadbeef00',
    x_longblob: "''",
  },
  {
    i_tiny: '127',
    i_tiny_u: '0',
    i_small: '32767',
    i_med: '-8388608',
    i_int: '2147483647',
    i_int_u: '0',
    i_big: '9223372036854775807',
    i_big_u: '9007199254740993',
    d_dec: '-0.0000000001',
    d_dec0: '0',
    f_float: '-3.40282e38',
    f_double: '-1.7976931348623157e308',
    t_date: "'0000-00-00'",
    t_time: "'838:59:59'",
    t_time6: "'00:00:00.000001'",
    t_dt: "'0000-00-00 00:00:00'",
    t_dt3: "'1000-01-01 00:00:00.001'",
    t_dt6: "'2026-06-30 12:00:00.999999'",
    t_ts: "'1970-01-01 00:00:01'",
    t_ts6: "'2026-01-02 03:04:05.123456'",
    t_year: "'0000'",
    b_bit1: "b'0'",
    b_bit10: '0',
    b_bit64: '0x8000000000000001',
    j_json: '\'"just a string"\'',
    e_enum: "'it''s'",
    s_set: "''",
    c_char: "''",
    c_varchar: "''",
    c_text: "''",
    c_latin: "'ÿ'",
    u_uuid: "'00000000-0000-0000-0000-000000000000'",
    x_binary: "''",
    x_varbinary: "''",
    x_blob: "''",
    x_longblob: 'repeat(0x41, 70000)',
  },
  { e_enum: "'x\\\\y'", j_json: "'null'" },
  {},
];

beforeAll(async () => {
  db = await createTestDatabases('binlog values');
  const definitions = Object.entries(columns).map(([name, type]) => `\`${name}\` ${type}`);
  await db.mysql.query(
    `create table every_type (id int primary key, ${definitions.join(', ')}) engine=InnoDB`,
  );
  await db.mysql.query('create table floats (id int primary key, f float, d double) engine=InnoDB');
});

afterAll(async () => {
  await db?.drop();
});

/** Each column of the table as the text protocol prints it (binary in `\x` hex, BIT as its number). */
async function selectText(
  table: string,
  names: readonly string[],
): Promise<Record<string, string | null>[]> {
  const list = names.map((name) =>
    bits.has(name) ? `\`${name}\` + 0 as \`${name}\`` : `\`${name}\``,
  );
  const [result] = await db.mysql.query({
    sql: `select ${list.join(', ')} from ${table} order by id`,
    typeCast: (field, next) => {
      const raw = field.buffer();
      if (raw === null) return null;
      void next;
      return binary.has(field.name) ? `\\x${raw.toString('hex')}` : raw.toString('utf8');
    },
  });
  return result as Record<string, string | null>[];
}

describe('BinlogSource values', () => {
  it('hands on every value family exactly as a SELECT prints it', { timeout: 60_000 }, async () => {
    const stream = await captureBinlog({
      mesUrl: db.mesUrl,
      database: db.mesName,
      tables: ['every_type', 'floats'],
      startLsn: await currentPosition(db.mysql),
      control: db.mysql,
    });
    try {
      // Zero dates and an invalid ENUM value need a lenient session, as some MES applications run.
      await db.mysql.query("set session sql_mode = ''");
      for (const [index, row] of rows.entries()) {
        const names = Object.keys(row);
        await db.mysql.query(
          `insert into every_type (id${names.map((n) => `, \`${n}\``).join('')}) values (${index + 1}${names.map((n) => `, ${row[n]}`).join('')})`,
        );
      }
      await db.mysql.query("insert into every_type (id, e_enum) values (10, 'not a label')");
      const values: string[] = [];
      for (let id = 1; id <= 2000; id++) {
        const magnitude = 10 ** (Math.floor(Math.random() * 60) - 30);
        const value = (Math.random() - 0.5) * magnitude;
        values.push(`(${id}, ${value.toExponential(12)}, ${value.toExponential(16)})`);
      }
      await db.mysql.query(`insert into floats values ${values.join(', ')}`);
      await stream.until(
        (events) => events.filter((e) => e.kind === 'commit').length === rows.length + 2,
      );
      const inserted = (table: string) =>
        stream.events
          .filter((e): e is ChangeEvent => e.kind === 'insert' && e.table === table)
          .map((e) => e.row);
      const names = ['id', ...Object.keys(columns)];
      expect(inserted('every_type')).toEqual(await selectText('every_type', names));
      expect(inserted('floats')).toEqual(await selectText('floats', ['id', 'f', 'd']));
      expect(stream.failures).toEqual([]);
    } finally {
      await stream.stop();
    }
  });
});
