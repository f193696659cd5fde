import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ValueError } from '../../src/errors/millrace-error.js';
import { compileCanonical } from '../../src/values/canonical.js';
import type { SourceType, TargetColumn, TargetValue } from '../../src/values/column-types.js';
import { type Conversion, compileConversion } from '../../src/values/compile-conversion.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { readSourceTypes, readTargetColumns } from './catalogs.js';

/** Named edge cases, each through the real servers where a server has a say. */

let db: TestDatabases;
let sources: Map<string, SourceType>;
let targets: Map<string, TargetColumn>;

const sourceColumns = {
  int4: 'int4',
  int8: 'int8',
  num: 'numeric',
  num38: 'numeric(38,0)',
  num3810: 'numeric(38,10)',
  float8: 'float8',
  float4: 'float4',
  bool: 'bool',
  varchar100: 'varchar(100)',
  text: 'text',
  date: 'date',
  ts: 'timestamp',
  tstz: 'timestamptz',
  time: 'time',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
  int4s: 'int4[]',
  texts: 'text[]',
  texts2: 'text[][]',
  boxes: 'box[]',
  bytea: 'bytea',
  mood: 'mood',
  interval: 'interval',
  inet: 'inet',
  money: 'money',
  tsvector: 'tsvector',
  range: 'int4range',
  point: 'point',
  ref: 'order_ref',
} as const;

const targetColumns = {
  int: 'int',
  int_u: 'int unsigned',
  tinyint: 'tinyint',
  bigint: 'bigint',
  bool: 'boolean',
  dec1002: 'decimal(10,2)',
  dec380: 'decimal(38,0)',
  dec3810: 'decimal(38,10)',
  dec_u: 'decimal(10,2) unsigned',
  double: 'double',
  float: 'float',
  varchar40: 'varchar(40)',
  varchar5: 'varchar(5)',
  char36: 'char(36)',
  text: 'text',
  tinytext: 'tinytext',
  longtext: 'longtext',
  date: 'date',
  dt6: 'datetime(6)',
  dt0: 'datetime',
  ts: 'timestamp(6) null',
  time6: 'time(6)',
  json: 'json',
  blob: 'blob',
  varbin4: 'varbinary(4)',
  bin4: 'binary(4)',
  enum: "enum('happy','sad')",
  year: 'year',
  bit8: 'bit(8)',
  set: "set('a','b')",
} as const;

type Source = keyof typeof sourceColumns;
type Target = keyof typeof targetColumns;

beforeAll(async () => {
  db = await createTestDatabases('values edge cases');
  await db.pg.query(`create type mood as enum ('happy', 'sad', 'meh')`);
  await db.pg.query('create domain order_ref as varchar(10)');
  await db.pg.query(
    `create table src (${Object.entries(sourceColumns)
      .map(([name, type]) => `${name} ${type}`)
      .join(', ')})`,
  );
  await db.mysql.query(
    `create table edge (id int primary key, ${Object.entries(targetColumns)
      .map(([name, type]) => `\`${name}\` ${type}`)
      .join(', ')})`,
  );
  sources = await readSourceTypes(db.pg, 'src');
  targets = await readTargetColumns(db.mysql, 'edge');
});

afterAll(async () => {
  await db?.drop();
});

const site = { mapping: 'production_orders', column: 'order_ref' };
const convert = (source: Source | 'derived', target: Target): Conversion =>
  compileConversion(
    source === 'derived' ? 'text' : sources.get(source)!,
    targets.get(target)!,
    site,
  );

/** PostgreSQL's text form of a literal of the source column's type, in a session time zone. */
async function pgText(source: Source, literal: string, zone = 'UTC'): Promise<string> {
  await db.pg.query(`set time zone '${zone}'`);
  try {
    const { rows } = await db.pg.query<{ v: string }>(`select $1::${sourceColumns[source]} as v`, [
      literal,
    ]);
    return rows[0]!.v;
  } finally {
    await db.pg.query(`set time zone 'UTC'`);
  }
}

/** Writes a converted value into the MariaDB column and reads it back with the test's connection. */
async function stored(target: Target, value: TargetValue): Promise<unknown> {
  await db.mysql.query('delete from edge');
  await db.mysql.query(`insert into edge (id, \`${target}\`) values (1, ?)`, [value]);
  const [rows] = await db.mysql.query(`select \`${target}\` as v from edge`);
  return (rows as { v: unknown }[])[0]!.v;
}

/** Source literal → PostgreSQL text → conversion → MariaDB → canonical, checked both ways. */
async function through(
  source: Source,
  target: Target,
  literal: string,
  zone?: string,
): Promise<string | null> {
  const text = await pgText(source, literal, zone);
  const value = convert(source, target)(text);
  const canonical = compileCanonical(targets.get(target)!);
  const back = canonical(await stored(target, value));
  expect(back).toBe(canonical(value));
  return back;
}

function valueError(run: () => unknown): ValueError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ValueError);
    return error as ValueError;
  }
  throw new Error('expected a ValueError');
}

describe('numbers', () => {
  it('numeric with 38 digits into DECIMAL(38,0) and DECIMAL(38,10), digit for digit', async () => {
    expect(await through('num38', 'dec380', '12345678901234567890123456789012345678')).toBe(
      '12345678901234567890123456789012345678',
    );
    expect(await through('num38', 'dec380', '-99999999999999999999999999999999999999')).toBe(
      '-99999999999999999999999999999999999999',
    );
    expect(await through('num3810', 'dec3810', '1234567890123456789012345678.0123456789')).toBe(
      '1234567890123456789012345678.0123456789',
    );
  });

  it('negative zero: -0 doubles, -0 numerics and values rounding to zero are plain 0', async () => {
    expect(await through('float8', 'double', '-0')).toBe('0');
    expect(await pgText('num', '-0.000')).toBe('0.000');
    expect(await through('num', 'dec1002', '-0.004')).toBe('0.00');
    expect(convert('num', 'dec1002')('-0.004')).toBe('0.00');
    expect(convert('derived', 'dec1002')('-0')).toBe('0.00');
    expect(convert('derived', 'int')('-0.4')).toBe(0);
    expect(Object.is(convert('float8', 'double')('-0'), 0)).toBe(true);
  });

  it('rounds half away from zero to the column scale, as MySQL does', async () => {
    expect(await through('num', 'dec1002', '2.345')).toBe('2.35');
    expect(await through('num', 'dec1002', '-2.345')).toBe('-2.35');
    expect(await through('num', 'dec1002', '2.3449999')).toBe('2.34');
    expect(await through('num', 'int', '2.5')).toBe('3');
    expect(await through('num', 'int', '-2.5')).toBe('-3');
    expect(await through('float8', 'dec1002', '0.125')).toBe('0.13');
    // The text PostgreSQL prints is the value: 0.1 is 0.1, not 0.1000000000000000055…
    expect(await through('float8', 'dec3810', '0.1')).toBe('0.1000000000');
  });

  it('bigint targets get strings, smaller integers numbers', () => {
    expect(convert('int8', 'bigint')('9223372036854775807')).toBe('9223372036854775807');
    expect(convert('int4', 'bigint')('-5')).toBe('-5');
    expect(convert('int4', 'int')('-5')).toBe(-5);
    expect(convert('derived', 'bigint')(' +0042 ')).toBe('42');
  });

  it('real into FLOAT keeps the largest real; double precision beyond it is rejected', async () => {
    expect(await through('float4', 'float', '3.4028235e+38')).toBe('3.40282e+38');
    const error = valueError(() => convert('float8', 'float')('3.4028235e+38'));
    expect(error.code).toBe('VALUE_OUT_OF_RANGE');
  });

  it('booleans: 1/0 into numbers and BIT, true/false into text and JSON', async () => {
    expect(await through('bool', 'bool', 't')).toBe('1');
    expect(await through('bool', 'bit8', 'f')).toBe('0');
    expect(await through('bool', 'varchar5', 't')).toBe('true');
    expect(await through('bool', 'json', 'f')).toBe('false');
    expect(await through('bool', 'dec1002', 't')).toBe('1.00');
  });

  it('integers into BIT(n) and YEAR', async () => {
    expect(await through('int4', 'bit8', '255')).toBe('255');
    expect(await through('int4', 'year', '2155')).toBe('2155');
    expect(valueError(() => convert('int4', 'year')('1900')).code).toBe('VALUE_OUT_OF_RANGE');
    expect(valueError(() => convert('int4', 'bit8')('256')).code).toBe('VALUE_OUT_OF_RANGE');
  });
});

describe('text', () => {
  it('emoji / 4-byte UTF-8 in VARCHAR(n) at exactly n characters; one more is too long', async () => {
    const five = '😀𝄞😀𝄞😀';
    expect(await through('varchar100', 'varchar5', five)).toBe(five);
    const error = valueError(() => convert('varchar100', 'varchar5')(`${five}a`));
    expect(error.code).toBe('VALUE_TOO_LONG');
    expect(error.message).toBe(
      `production_orders.order_ref: '${five}a' (6 characters) is longer than varchar(5)`,
    );
  });

  it('too long for VARCHAR(40): the message of the issue, the full value in the context', () => {
    const value = 'abcdefghijklmnopqrstuvwxyzabcdefghijklmno';
    const error = valueError(() => convert('varchar100', 'varchar40')(value));
    expect(error.code).toBe('VALUE_TOO_LONG');
    expect(error.message).toBe(
      "production_orders.order_ref: 'abcdefghij…' (41 characters) is longer than varchar(40)",
    );
    expect(error.context).toEqual({ mapping: 'production_orders', column: 'order_ref', value });
  });

  it('TEXT types count bytes: 65535 bytes fit TEXT, 255 three-byte characters do not fit TINYTEXT', async () => {
    const full = `${'€'.repeat(21_845)}`; // 3 bytes each: 65535 bytes
    expect(await through('text', 'text', full)).toBe(full);
    const error = valueError(() => convert('text', 'text')(`${full}x`));
    expect(error.code).toBe('VALUE_TOO_LONG');
    expect(error.message).toBe(
      "production_orders.order_ref: '€€€€€€€€€€…' (65536 bytes) is longer than text (65535 bytes)",
    );
    expect(convert('text', 'tinytext')('€'.repeat(85))).toBe('€'.repeat(85));
    expect(valueError(() => convert('text', 'tinytext')('€'.repeat(86))).code).toBe(
      'VALUE_TOO_LONG',
    );
  });

  it('control characters are escaped in messages so they stay one line', () => {
    const error = valueError(() => convert('text', 'varchar5')('a\nb\tc\u0001def'));
    expect(error.message).toBe(
      "production_orders.order_ref: 'a\\nb\\tc\\u0001def' (9 characters) is longer than varchar(5)",
    );
  });

  it('a domain converts as its base type', async () => {
    expect(sources.get('ref')).toMatchObject({ name: 'varchar', typmod: 14 });
    expect(await through('ref', 'varchar5', 'A-123')).toBe('A-123');
  });

  it('enum labels must match the ENUM column exactly', async () => {
    expect(await through('mood', 'enum', 'happy')).toBe('happy');
    const error = valueError(() => convert('mood', 'enum')('meh'));
    expect(error.code).toBe('VALUE_INVALID');
    expect(error.message).toBe(
      "production_orders.order_ref: 'meh' is not one of the labels of enum('happy','sad')",
    );
  });

  it('uuid into CHAR(36)', async () => {
    expect(await through('uuid', 'char36', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe(
      'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
    );
  });

  it('other types travel as their text form', async () => {
    const cases: readonly (readonly [Source, string, string])[] = [
      ['interval', '1 day 2 hours 3.5 seconds', '1 day 02:00:03.5'],
      ['inet', '192.168.0.1/24', '192.168.0.1/24'],
      ['money', '1234.5', '$1,234.50'],
      ['tsvector', 'a fat cat', "'a' 'cat' 'fat'"],
      ['range', '[1,5)', '[1,5)'],
      ['point', '(1.5,2)', '(1.5,2)'],
    ];
    for (const [source, literal, text] of cases) {
      expect(await through(source, 'longtext', literal)).toBe(text);
      expect(await through(source, 'json', literal)).toBe(JSON.stringify(text));
    }
  });
});

describe('dates and times', () => {
  it('µs timestamps across a DST change, written with the offsets of Europe/Berlin, land in UTC', async () => {
    // Spring forward (02:00 → 03:00 on 2024-03-31) and fall back (03:00 → 02:00 on 2024-10-27).
    const utc = [
      '2024-03-31 00:59:59.999999',
      '2024-03-31 01:00:00.000001',
      '2024-10-27 00:30:00.123456',
      '2024-10-27 01:30:00.654321',
    ];
    const local = [
      '2024-03-31 01:59:59.999999+01',
      '2024-03-31 03:00:00.000001+02',
      '2024-10-27 02:30:00.123456+02',
      '2024-10-27 02:30:00.654321+01',
    ];
    for (const [i, instant] of utc.entries()) {
      expect(await pgText('tstz', `${instant}+00`, 'Europe/Berlin')).toBe(local[i]);
      expect(await through('tstz', 'dt6', `${instant}+00`, 'Europe/Berlin')).toBe(instant);
    }
  });

  it('offsets with minutes and seconds (local mean time), across midnight and year ends', async () => {
    expect(await through('tstz', 'dt6', '2024-01-01 03:00:00+05:30', 'Asia/Kolkata')).toBe(
      '2023-12-31 21:30:00.000000',
    );
    expect(await pgText('tstz', '1900-01-01 00:00:00+00', 'Europe/Amsterdam')).toBe(
      '1900-01-01 00:19:32+00:19:32',
    );
    expect(await through('tstz', 'dt6', '1900-01-01 00:00:00+00', 'Europe/Amsterdam')).toBe(
      '1900-01-01 00:00:00.000000',
    );
    expect(convert('tstz', 'dt6')('2024-12-31 23:00:00-03')).toBe('2025-01-01 02:00:00.000000');
    expect(convert('tstz', 'dt6')('2024-02-29 00:15:00+00:30')).toBe('2024-02-28 23:45:00.000000');
  });

  it('fractional seconds are truncated to the column precision, never rounded up', async () => {
    expect(await through('ts', 'dt0', '2024-12-31 23:59:59.999999')).toBe('2024-12-31 23:59:59');
    expect(await through('ts', 'dt6', '9999-12-31 23:59:59.999999')).toBe(
      '9999-12-31 23:59:59.999999',
    );
  });

  it('years 1..9999 fit DATE and DATETIME: MariaDB keeps 0001-01-01', async () => {
    expect(await through('date', 'date', '0001-01-01')).toBe('0001-01-01');
    expect(await through('ts', 'dt6', '0001-01-01 00:00:00')).toBe('0001-01-01 00:00:00.000000');
    expect(await through('date', 'dt0', '2024-02-29')).toBe('2024-02-29 00:00:00');
  });

  it('infinity, BC and year 10000 are out of range', async () => {
    const infinity = valueError(() => convert('date', 'date')('infinity'));
    expect(infinity.code).toBe('VALUE_OUT_OF_RANGE');
    expect(infinity.message).toBe(
      "production_orders.order_ref: 'infinity' is infinite; date holds 0001-01-01..9999-12-31 only",
    );
    expect(valueError(() => convert('tstz', 'dt6')('-infinity')).code).toBe('VALUE_OUT_OF_RANGE');
    const bc = await pgText('date', '0044-03-15 BC');
    expect(bc).toBe('0044-03-15 BC');
    expect(valueError(() => convert('date', 'date')(bc)).message).toBe(
      "production_orders.order_ref: '0044-03-15 BC' is out of range for date (0001-01-01..9999-12-31)",
    );
    const late = await pgText('ts', '10000-01-01 00:00:00');
    expect(valueError(() => convert('ts', 'dt6')(late)).code).toBe('VALUE_OUT_OF_RANGE');
    expect(valueError(() => convert('tstz', 'dt6')('0001-01-01 00:30:00+01')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
  });

  it('TIMESTAMP columns take 1970-01-01 00:00:01..2038-01-19 03:14:07 UTC only', async () => {
    await db.mysql.query("set time_zone = '+00:00'");
    expect(await through('tstz', 'ts', '2038-01-19 03:14:07.999999+00')).toBe(
      '2038-01-19 03:14:07.999999',
    );
    expect(valueError(() => convert('tstz', 'ts')('2038-01-19 03:14:08+00')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
    expect(valueError(() => convert('tstz', 'ts')('1970-01-01 00:00:00+00')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
  });

  it('time: 24:00:00 into TIME(6)', async () => {
    expect(await through('time', 'time6', '24:00:00')).toBe('24:00:00.000000');
    expect(convert('derived', 'time6')('-838:59:59')).toBe('-838:59:59.000000');
    expect(valueError(() => convert('derived', 'time6')('838:59:59.5')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
  });
});

describe('json and arrays', () => {
  it('JSON with unicode escapes: json keeps them, jsonb decodes them, both store the same document', async () => {
    const literal = '{"name": "caf\\u00e9 \\ud83d\\ude00", "z": 1.0, "a": [1e2, "\\u0041"]}';
    const json = await pgText('json', literal);
    const jsonb = await pgText('jsonb', literal);
    expect(json).toBe(literal);
    expect(jsonb).toBe('{"a": [100, "A"], "z": 1.0, "name": "café 😀"}');
    const expected = '{"a":[100,"A"],"name":"café 😀","z":1}';
    expect(await through('json', 'json', literal)).toBe(expected);
    expect(await through('jsonb', 'json', literal)).toBe(expected);
  });

  it("'{}' and '{NULL}' arrays", async () => {
    expect(await through('int4s', 'json', '{}')).toBe('[]');
    expect(await through('int4s', 'json', '{NULL}')).toBe('[null]');
    expect(await through('texts', 'json', '{NULL,"NULL",null,""}')).toBe('[null,"NULL",null,""]');
  });

  it('nested arrays with quotes, commas, backslashes and braces', async () => {
    const literal = '{{"a,b","c\\"d"},{"e\\\\f",NULL},{"{x}"," sp "}}';
    const text = await pgText('texts2', literal);
    expect(text).toBe(literal);
    expect(await through('texts2', 'json', literal)).toBe(
      JSON.stringify([
        ['a,b', 'c"d'],
        ['e\\f', null],
        ['{x}', ' sp '],
      ]),
    );
  });

  it('arrays with explicit bounds and with the ; delimiter of box', async () => {
    expect(await through('int4s', 'json', '[0:2]={1,2,3}')).toBe('[1,2,3]');
    expect(await through('boxes', 'json', '{(1,1),(0,0);(3,3),(2,2)}')).toBe(
      '["(1,1),(0,0)","(3,3),(2,2)"]',
    );
  });

  it('a bad array literal is a bad value, not a crash', () => {
    const error = valueError(() => convert('int4s', 'json')('{1,2'));
    expect(error.code).toBe('VALUE_INVALID');
    expect(error.message).toBe("production_orders.order_ref: '{1,2' is not a valid array literal");
  });

  it('derived text into JSON must be a JSON document', () => {
    expect(convert('derived', 'json')('{"a":1}')).toBe('{"a":1}');
    expect(valueError(() => convert('derived', 'json')('normal')).code).toBe('VALUE_INVALID');
  });
});

describe('bytea', () => {
  it('empty bytea into BLOB', async () => {
    expect(await pgText('bytea', '')).toBe('\\x');
    expect(await through('bytea', 'blob', '')).toBe('');
    expect(convert('bytea', 'blob')('\\x')).toEqual(Buffer.alloc(0));
  });

  it('BINARY(n) pads with zero bytes; canonical pads the same way', async () => {
    expect(await through('bytea', 'bin4', '\\x0102')).toBe('01020000');
  });

  it('VARBINARY(n) rejects longer values', () => {
    const error = valueError(() => convert('bytea', 'varbin4')('\\x0102030405'));
    expect(error.code).toBe('VALUE_TOO_LONG');
    expect(error.message).toBe(
      "production_orders.order_ref: '\\x0102030405' (5 bytes) is longer than varbinary(4) (4 bytes)",
    );
  });
});

describe('errors', () => {
  it('out-of-range integers, with the range in the message', () => {
    const error = valueError(() => convert('int8', 'int')('2147483648'));
    expect(error.code).toBe('VALUE_OUT_OF_RANGE');
    expect(error.message).toBe(
      "production_orders.order_ref: '2147483648' is out of range for int(11) (-2147483648..2147483647)",
    );
    expect(valueError(() => convert('int4', 'int_u')('-1')).code).toBe('VALUE_OUT_OF_RANGE');
    expect(valueError(() => convert('int4', 'tinyint')('128')).code).toBe('VALUE_OUT_OF_RANGE');
  });

  it('NaN and infinite numbers', () => {
    const nan = valueError(() => convert('num', 'dec1002')('NaN'));
    expect(nan.code).toBe('VALUE_INVALID');
    expect(nan.message).toBe(
      "production_orders.order_ref: 'NaN' is not a number; decimal(10,2) cannot hold NaN",
    );
    expect(valueError(() => convert('float8', 'double')('NaN')).code).toBe('VALUE_INVALID');
    expect(valueError(() => convert('float8', 'double')('-Infinity')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
    expect(valueError(() => convert('num', 'int')('Infinity')).code).toBe('VALUE_OUT_OF_RANGE');
  });

  it('decimal overflow: too many integer digits, also after rounding up', () => {
    const error = valueError(() => convert('num', 'dec1002')('123456789'));
    expect(error.code).toBe('VALUE_OUT_OF_RANGE');
    expect(error.message).toBe(
      "production_orders.order_ref: '123456789' does not fit decimal(10,2) (at most 8 integer digits)",
    );
    expect(valueError(() => convert('num', 'dec1002')('99999999.995')).code).toBe(
      'VALUE_OUT_OF_RANGE',
    );
    expect(convert('num', 'dec1002')('99999999.994')).toBe('99999999.99');
    expect(valueError(() => convert('num', 'dec_u')('-0.01')).code).toBe('VALUE_OUT_OF_RANGE');
  });

  it('text that is not a number, date or boolean', () => {
    const error = valueError(() => convert('derived', 'int')('12abc'));
    expect(error.code).toBe('VALUE_INVALID');
    expect(error.message).toBe(
      "production_orders.order_ref: '12abc' is not a number; int(11) needs one",
    );
    expect(valueError(() => convert('derived', 'date')('2024-02-30')).code).toBe('VALUE_INVALID');
    expect(valueError(() => convert('derived', 'dt6')('yesterday')).code).toBe('VALUE_INVALID');
  });

  it('an impossible pair is refused when the mapping compiles', () => {
    let thrown: unknown;
    try {
      convert('jsonb', 'int');
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as ConfigError).code).toBe('MAPPING_TYPE_MISMATCH');
    expect((thrown as ConfigError).message).toMatch(
      /^production_orders\.order_ref: jsonb cannot be stored in int\(11\)/,
    );
    expect(() => convert('text', 'set')).toThrow(/set\('a','b'\) columns are not supported/);
  });

  it('names and values that are Object.prototype keys are nothing special', async () => {
    await db.pg.query(`create type "toString" as enum ('constructor', 'b')`);
    await db.pg.query(`create table odd (v "toString")`);
    const type = (await readSourceTypes(db.pg, 'odd')).get('v')!;
    const conversion = compileConversion(type, targets.get('varchar40')!, site);
    expect(conversion('constructor')).toBe('constructor');
    expect(valueError(() => convert('bool', 'bool')('constructor')).code).toBe('VALUE_INVALID');
    expect(valueError(() => convert('bool', 'bool')('__proto__')).code).toBe('VALUE_INVALID');
  });

  it('null is null everywhere', () => {
    for (const source of Object.keys(sourceColumns) as Source[]) {
      for (const target of ['longtext', 'json'] as const)
        expect(convert(source, target)(null)).toBeNull();
    }
    expect(convert('int4', 'int')(null)).toBeNull();
    expect(compileCanonical(targets.get('int')!)(null)).toBeNull();
  });
});

describe('canonical forms agree across spellings of the same stored value', () => {
  const canonical = (target: Target) => compileCanonical(targets.get(target)!);

  it('DECIMAL at the column scale', () => {
    expect(canonical('dec1002')('1.5')).toBe('1.50');
    expect(canonical('dec1002')('-0.00')).toBe('0.00');
    expect(canonical('dec1002')(2)).toBe('2.00');
  });

  it('JSON as MySQL 8 reformats it and as MariaDB keeps it', () => {
    expect(canonical('json')('{"b": 1.0, "a": [1e2, -0]}')).toBe(
      canonical('json')('{"a":[100,0],"b":1}'),
    );
    expect(canonical('json')({ b: 1, a: [100] })).toBe('{"a":[100],"b":1}');
  });

  it('DATETIME and TIME at the column precision', () => {
    expect(canonical('dt6')('2024-01-01 10:00:00')).toBe('2024-01-01 10:00:00.000000');
    expect(canonical('dt0')('2024-01-01T10:00:00.999')).toBe('2024-01-01 10:00:00');
    expect(canonical('dt6')(new Date(Date.UTC(2024, 0, 1, 10, 0, 0, 5)))).toBe(
      '2024-01-01 10:00:00.005000',
    );
    expect(canonical('time6')('8:00:00')).toBe('08:00:00.000000');
  });

  it('FLOAT to 6 and DOUBLE to 15 significant digits, ties to even like the server', () => {
    expect(canonical('float')(1.100000023841858)).toBe(canonical('float')(1.1));
    expect(canonical('float')(9665945)).toBe('9665940');
    expect(canonical('double')(0.1 + 0.2)).toBe('0.3');
    expect(canonical('double')('-0')).toBe('0');
  });

  it('integers, BIT and binary', () => {
    expect(canonical('bigint')('-0042')).toBe('-42');
    expect(canonical('bigint')(12n)).toBe('12');
    expect(canonical('bit8')(Buffer.from([0xff]))).toBe('255');
    expect(canonical('bin4')(Buffer.from([1]))).toBe('01000000');
  });
});
