import { describe, expect, it } from 'vitest';
import { ConfigError, ValueError } from '../../src/errors/millrace-error.js';
import type { CrmColumn, MesColumn, SourceType } from '../../src/values/column-types.js';
import { checkCrmCompatibility } from '../../src/values/compatibility.js';
import { type Conversion, compileCrmConversion } from '../../src/values/compile-conversion.js';

/** The to-crm direction: MySQL text forms of MES columns into PostgreSQL parameters. */

function mes(dataType: string, columnType: string, facts: Partial<MesColumn> = {}): MesColumn {
  return {
    name: 'm',
    dataType,
    columnType,
    maxLength: null,
    precision: null,
    scale: null,
    datetimePrecision: null,
    unsigned: /unsigned/.test(columnType),
    nullable: true,
    isJson: false,
    ...facts,
  };
}

function crm(
  name: string,
  category: string,
  typmod = -1,
  more: Partial<SourceType> = {},
): CrmColumn {
  return { name: 'c', type: { name, oid: 0, category, typmod, ...more }, nullable: true };
}

const numeric = (precision: number, scale: number) =>
  crm('numeric', 'N', ((precision << 16) | scale) + 4);

const M = {
  int: mes('int', 'int(11)'),
  bigintUnsigned: mes('bigint', 'bigint(20) unsigned'),
  tinyint1: mes('tinyint', 'tinyint(1)'),
  decimal: mes('decimal', 'decimal(12,4)', { precision: 12, scale: 4 }),
  decimal30: mes('decimal', 'decimal(30,10)', { precision: 30, scale: 10 }),
  float: mes('float', 'float'),
  double: mes('double', 'double'),
  varchar: mes('varchar', 'varchar(40)', { maxLength: 40 }),
  char36: mes('char', 'char(36)', { maxLength: 36 }),
  text: mes('text', 'text', { maxLength: 65_535 }),
  enum: mes('enum', "enum('open','done')", { enumValues: ['open', 'done'] }),
  date: mes('date', 'date'),
  datetime6: mes('datetime', 'datetime(6)', { datetimePrecision: 6 }),
  timestamp: mes('timestamp', 'timestamp', { datetimePrecision: 0 }),
  time: mes('time', 'time(3)', { datetimePrecision: 3 }),
  json: mes('longtext', 'longtext', { isJson: true, maxLength: 4_294_967_295 }),
  blob: mes('blob', 'blob', { maxLength: 65_535 }),
  binary16: mes('binary', 'binary(16)', { maxLength: 16 }),
  set: mes('set', "set('a','b')"),
};

const C = {
  int2: crm('int2', 'N'),
  int4: crm('int4', 'N'),
  int8: crm('int8', 'N'),
  numeric: crm('numeric', 'N'),
  numeric10_2: numeric(10, 2),
  numeric20: numeric(20, 0),
  float4: crm('float4', 'N'),
  float8: crm('float8', 'N'),
  bool: crm('bool', 'B'),
  text: crm('text', 'S'),
  varchar5: crm('varchar', 'S', 9),
  bpchar3: crm('bpchar', 'S', 7),
  date: crm('date', 'D'),
  timestamp: crm('timestamp', 'D'),
  timestamp3: crm('timestamp', 'D', 3),
  timestamptz: crm('timestamptz', 'D'),
  time: crm('time', 'D'),
  uuid: crm('uuid', 'U'),
  json: crm('json', 'U'),
  jsonb: crm('jsonb', 'U'),
  bytea: crm('bytea', 'U'),
  mood: crm('mood', 'E', -1, { enumLabels: ['open', 'done', 'held'] }),
  interval: crm('interval', 'T'),
};

function convert(source: MesColumn | 'text', target: CrmColumn): Conversion {
  return compileCrmConversion(source, target, { mapping: 'm', column: 'c' });
}

function failure(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof ValueError) return `${error.code}: ${error.message}`;
    throw error;
  }
  throw new Error('no failure');
}

describe('integers', () => {
  it('passes integers through exactly, BIGINT UNSIGNED into numeric and bigint with range checks', () => {
    expect(convert(M.int, C.int4)('-2147483648')).toBe('-2147483648');
    expect(convert(M.bigintUnsigned, C.numeric20)('18446744073709551615')).toBe(
      '18446744073709551615',
    );
    expect(convert(M.bigintUnsigned, C.numeric)('18446744073709551615')).toBe(
      '18446744073709551615',
    );
    expect(convert(M.bigintUnsigned, C.int8)('9223372036854775807')).toBe('9223372036854775807');
    expect(failure(() => convert(M.bigintUnsigned, C.int8)('9223372036854775808'))).toBe(
      "VALUE_OUT_OF_RANGE: m.c: '9223372036854775808' is out of range for bigint (-9223372036854775808..9223372036854775807)",
    );
    expect(failure(() => convert(M.int, C.int2)('32768'))).toMatch(/^VALUE_OUT_OF_RANGE/);
    expect(checkCrmCompatibility(M.bigintUnsigned, C.int8)).toEqual({
      level: 'warning',
      reason: 'values outside -9223372036854775808..9223372036854775807 are rejected',
    });
    expect(checkCrmCompatibility(M.int, C.int8).level).toBe('ok');
    expect(checkCrmCompatibility(M.bigintUnsigned, C.numeric20).level).toBe('ok');
  });

  it('rounds decimals into integers half away from zero, and refuses text that is not a number', () => {
    expect(convert(M.decimal, C.int4)('2.5000')).toBe('3');
    expect(convert(M.decimal, C.int4)('-2.5000')).toBe('-3');
    expect(failure(() => convert('text', C.int4)('twelve'))).toBe(
      "VALUE_INVALID: m.c: 'twelve' is not a number; integer needs one",
    );
    expect(checkCrmCompatibility(M.json, C.int4).level).toBe('error');
  });
});

describe('DECIMAL into numeric', () => {
  it('keeps every digit, rounds to the scale, refuses what does not fit numeric(p,s)', () => {
    expect(convert(M.decimal, C.numeric)('12.3400')).toBe('12.3400');
    expect(convert(M.decimal30, C.numeric)('-12345678901234567890.0123456789')).toBe(
      '-12345678901234567890.0123456789',
    );
    expect(convert(M.decimal, C.numeric10_2)('12.3450')).toBe('12.35');
    expect(convert(M.decimal, C.numeric10_2)('-0.0040')).toBe('0.00');
    expect(convert(M.decimal, C.numeric10_2)('99999999.9900')).toBe('99999999.99');
    expect(failure(() => convert(M.decimal, C.numeric10_2)('100000000.0000'))).toBe(
      "VALUE_OUT_OF_RANGE: m.c: '100000000.0000' does not fit numeric(10,2) (at most 8 integer digits)",
    );
    expect(checkCrmCompatibility(M.decimal, C.numeric10_2)).toEqual({
      level: 'warning',
      reason: 'values with more than 2 decimals are rounded half away from zero',
    });
    expect(checkCrmCompatibility(M.decimal30, C.numeric10_2)).toEqual({
      level: 'warning',
      reason:
        'values with more than 2 decimals are rounded half away from zero; values with more than 8 integer digits are rejected',
    });
    expect(checkCrmCompatibility(M.decimal, numeric(12, 4)).level).toBe('ok');
  });

  it('spells floats in an exponent as plain decimals', () => {
    expect(convert(M.double, C.numeric)('1e20')).toBe('100000000000000000000');
    expect(convert(M.double, C.numeric)('-1.5e-7')).toBe('-0.00000015');
  });
});

describe('FLOAT and DOUBLE', () => {
  it('passes the printed value, refuses what real cannot hold', () => {
    expect(convert(M.double, C.float8)('0.1')).toBe('0.1');
    expect(convert(M.float, C.float4)('3.40282e38')).toBe('3.40282e38');
    expect(failure(() => convert(M.double, C.float4)('1e39'))).toMatch(/^VALUE_OUT_OF_RANGE/);
    expect(checkCrmCompatibility(M.double, C.float8).level).toBe('ok');
    expect(checkCrmCompatibility(M.double, C.float4).level).toBe('warning');
  });
});

describe('booleans', () => {
  it('turns TINYINT(1) 0/1 into false/true and refuses other values', () => {
    const toBool = convert(M.tinyint1, C.bool);
    expect([toBool('0'), toBool('1'), toBool(null)]).toEqual(['false', 'true', null]);
    expect(failure(() => toBool('2'))).toBe(
      "VALUE_INVALID: m.c: '2' is not 0 or 1; boolean needs one",
    );
    expect(checkCrmCompatibility(M.tinyint1, C.bool).level).toBe('ok');
    expect(checkCrmCompatibility(M.int, C.bool).level).toBe('warning');
    expect(convert('text', C.bool)('Yes')).toBe('true');
    expect(checkCrmCompatibility(M.date, C.bool).level).toBe('error');
  });
});

describe('dates and times', () => {
  it('reads DATETIME(6) as UTC, keeps microseconds, cuts to the column, refuses zero dates', () => {
    expect(convert(M.datetime6, C.timestamp)('2026-01-02 03:04:05.123456')).toBe(
      '2026-01-02 03:04:05.123456',
    );
    expect(convert(M.datetime6, C.timestamptz)('2026-01-02 03:04:05.123456')).toBe(
      '2026-01-02 03:04:05.123456+00',
    );
    expect(convert(M.datetime6, C.timestamp3)('2026-01-02 03:04:05.999999')).toBe(
      '2026-01-02 03:04:05.999',
    );
    expect(checkCrmCompatibility(M.datetime6, C.timestamp3)).toEqual({
      level: 'warning',
      reason: 'fractional seconds beyond 3 digits are truncated',
    });
    expect(checkCrmCompatibility(M.datetime6, C.timestamptz).level).toBe('ok');
    expect(convert(M.timestamp, C.timestamptz)('2026-03-29 01:30:00')).toBe(
      '2026-03-29 01:30:00.000000+00',
    );
    expect(failure(() => convert(M.datetime6, C.timestamp)('0000-00-00 00:00:00.000000'))).toBe(
      "VALUE_INVALID: m.c: '0000-00-00 00:00:00.000000' is not a valid date; timestamp needs one",
    );
  });

  it('converts DATE and TIME, refusing zero dates and durations outside a day', () => {
    expect(convert(M.date, C.date)('2024-02-29')).toBe('2024-02-29');
    expect(failure(() => convert(M.date, C.date)('0000-00-00'))).toMatch(/^VALUE_INVALID/);
    expect(failure(() => convert(M.date, C.date)('2024-00-15'))).toMatch(/^VALUE_INVALID/);
    expect(convert(M.date, C.timestamptz)('2024-02-29')).toBe('2024-02-29 00:00:00.000000+00');
    expect(checkCrmCompatibility(M.datetime6, C.date).level).toBe('error');
    expect(convert(M.time, C.time)('23:59:59.500')).toBe('23:59:59.500000');
    expect(failure(() => convert(M.time, C.time)('-01:00:00.000'))).toMatch(/^VALUE_OUT_OF_RANGE/);
    expect(failure(() => convert(M.time, C.time)('838:59:59.000'))).toMatch(/^VALUE_OUT_OF_RANGE/);
    expect(checkCrmCompatibility(M.time, C.time).level).toBe('warning');
  });
});

describe('text, enum and uuid', () => {
  it('passes utf8mb4 text unchanged, checks varchar(n) in characters, refuses NUL', () => {
    expect(convert(M.varchar, C.text)('Grüße 🏭')).toBe('Grüße 🏭');
    expect(convert(M.varchar, C.varchar5)('🏭🏭🏭🏭🏭')).toBe('🏭🏭🏭🏭🏭');
    expect(failure(() => convert(M.varchar, C.varchar5)('abcdef'))).toBe(
      "VALUE_TOO_LONG: m.c: 'abcdef' (6 characters) is longer than varchar(5)",
    );
    expect(convert(M.varchar, C.bpchar3)('ab   ')).toBe('ab   ');
    expect(failure(() => convert(M.varchar, C.text)('a\u0000b'))).toMatch(/^VALUE_INVALID.*NUL/);
    expect(checkCrmCompatibility(M.varchar, C.varchar5)).toEqual({
      level: 'warning',
      reason: 'values longer than 5 characters are rejected',
    });
    expect(checkCrmCompatibility(M.blob, C.text).level).toBe('error');
  });

  it('writes ENUM labels as text or into a PostgreSQL enum with a label check', () => {
    expect(convert(M.enum, C.text)('open')).toBe('open');
    expect(convert(M.enum, C.mood)('done')).toBe('done');
    expect(checkCrmCompatibility(M.enum, C.mood).level).toBe('ok');
    const narrow = crm('mood', 'E', -1, { enumLabels: ['open'] });
    expect(checkCrmCompatibility(M.enum, narrow)).toEqual({
      level: 'warning',
      reason: "labels 'done' are not labels of mood: such values are rejected",
    });
    expect(failure(() => convert(M.enum, narrow)('done'))).toBe(
      "VALUE_INVALID: m.c: 'done' is not one of the labels of mood",
    );
  });

  it('reads CHAR(36) and BINARY(16) as uuid', () => {
    expect(convert(M.char36, C.uuid)('5F1B7A3C-0D8E-4C3B-9A51-2B7C9E0F1A2D')).toBe(
      '5f1b7a3c-0d8e-4c3b-9a51-2b7c9e0f1a2d',
    );
    expect(failure(() => convert(M.char36, C.uuid)('not-a-uuid'))).toMatch(/^VALUE_INVALID/);
    expect(convert(M.binary16, C.uuid)('\\x5f1b7a3c0d8e4c3b9a512b7c9e0f1a2d')).toBe(
      '5f1b7a3c-0d8e-4c3b-9a51-2b7c9e0f1a2d',
    );
  });
});

describe('JSON and binary', () => {
  it('checks MariaDB JSON (LONGTEXT with JSON_VALID) and keeps its text for json and jsonb', () => {
    const doc = '{"b": 1.10, "a": [1, "x"]}';
    expect(convert(M.json, C.json)(doc)).toBe(doc);
    expect(convert(M.json, C.jsonb)(doc)).toBe(doc);
    expect(failure(() => convert(M.json, C.jsonb)('{"a":'))).toMatch(
      /^VALUE_INVALID.*not valid JSON/,
    );
    expect(failure(() => convert(M.json, C.jsonb)('"\\u0000"'))).toMatch(/^VALUE_INVALID/);
    expect(convert(M.json, C.json)('"\\u0000"')).toBe('"\\u0000"');
    expect(convert(M.varchar, C.jsonb)('say "hi"')).toBe('"say \\"hi\\""');
    expect(convert(M.decimal, C.jsonb)('12.3400')).toBe('12.3400');
    expect(checkCrmCompatibility(M.json, C.jsonb).level).toBe('ok');
    expect(checkCrmCompatibility('text', C.jsonb).level).toBe('warning');
  });

  it('decodes BLOB hex into bytes for bytea', () => {
    const bytes = convert(M.blob, C.bytea)('\\x00ff10');
    expect(Buffer.isBuffer(bytes) && bytes.toString('hex')).toBe('00ff10');
    expect((convert(M.blob, C.bytea)('\\x') as Buffer).length).toBe(0);
    expect(failure(() => convert(M.blob, C.bytea)('\\x0'))).toMatch(/^VALUE_INVALID/);
    expect(checkCrmCompatibility(M.datetime6, C.bytea).level).toBe('error');
  });
});

describe('NULL and refusals', () => {
  it('gives null for null whatever the pair', () => {
    for (const [source, target] of [
      [M.int, C.int4],
      [M.json, C.jsonb],
      [M.blob, C.bytea],
      [M.datetime6, C.timestamptz],
    ] as const)
      expect(convert(source, target)(null)).toBeNull();
  });

  it('refuses unsupported pairs when compiling, naming the fix', () => {
    expect(() => convert(M.set, C.text)).toThrow(ConfigError);
    expect(() => convert(M.varchar, C.interval)).toThrow(
      /interval columns are not supported as a to-crm target/,
    );
    expect(checkCrmCompatibility(M.int, C.timestamp)).toMatchObject({ level: 'error' });
  });
});
