import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors/millrace-error.js';
import type { SourceType, TargetColumn } from '../../src/values/column-types.js';
import { checkCompatibility } from '../../src/values/compatibility.js';
import { compileConversion } from '../../src/values/compile-conversion.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import { readSourceTypes, readTargetColumns } from './catalogs.js';

/** `mappings check` verdicts, with both sides' types read from the live catalogs. */

let db: TestDatabases;
let sources: Map<string, SourceType>;
let targets: Map<string, TargetColumn>;

const sourceColumns: Readonly<Record<string, string>> = {
  int2: 'int2',
  int4: 'int4',
  int8: 'int8',
  num: 'numeric',
  num102: 'numeric(10,2)',
  num82: 'numeric(8,2)',
  num186: 'numeric(18,6)',
  num90: 'numeric(9,0)',
  float4: 'float4',
  float8: 'float8',
  bool: 'bool',
  text: 'text',
  varchar40: 'varchar(40)',
  varchar100: 'varchar(100)',
  bpchar10: 'char(10)',
  date: 'date',
  ts: 'timestamp',
  ts3: 'timestamp(3)',
  tstz: 'timestamptz',
  time: 'time',
  timetz: 'timetz',
  uuid: 'uuid',
  json: 'json',
  jsonb: 'jsonb',
  int4s: 'int4[]',
  texts: 'text[]',
  bytea: 'bytea',
  mood: 'mood',
  interval: 'interval',
  inet: 'inet',
  money: 'money',
  code: 'short_code',
};

const targetColumns: Readonly<Record<string, string>> = {
  tinyint: 'tinyint',
  bool: 'boolean',
  smallint: 'smallint',
  int: 'int',
  int_u: 'int unsigned',
  bigint: 'bigint',
  dec102: 'decimal(10,2)',
  dec1810: 'decimal(18,10)',
  double: 'double',
  float: 'float',
  varchar5: 'varchar(5)',
  varchar20: 'varchar(20)',
  varchar40: 'varchar(40)',
  varchar43: 'varchar(43)',
  varchar63: 'varchar(63)',
  varchar255: 'varchar(255)',
  char36: 'char(36)',
  tinytext: 'tinytext',
  text: 'text',
  longtext: 'longtext',
  date: 'date',
  dt6: 'datetime(6)',
  dt3: 'datetime(3)',
  ts: 'timestamp(6) null',
  time6: 'time(6)',
  year: 'year',
  json: 'json',
  blob: 'blob',
  longblob: 'longblob',
  bin16: 'binary(16)',
  varbin8: 'varbinary(8)',
  enum: "enum('happy','sad')",
  bit1: 'bit(1)',
  set: "set('a','b')",
  geometry: 'point',
};

beforeAll(async () => {
  db = await createTestDatabases('values compatibility');
  await db.pg.query(`create type mood as enum ('happy', 'sad')`);
  await db.pg.query('create domain short_code as char(3)');
  await db.pg.query(
    `create table src (${Object.entries(sourceColumns)
      .map(([name, type]) => `${name} ${type}`)
      .join(', ')})`,
  );
  await db.mysql.query(
    `create table tgt (${Object.entries(targetColumns)
      .map(([name, type]) => `\`${name}\` ${type}`)
      .join(', ')})`,
  );
  sources = await readSourceTypes(db.pg, 'src');
  targets = await readTargetColumns(db.mysql, 'tgt');
});

afterAll(async () => {
  await db?.drop();
});

const source = (name: string): SourceType | 'text' =>
  name === 'derived' ? 'text' : sources.get(name)!;
const check = (from: string, to: string) => checkCompatibility(source(from), targets.get(to)!);

describe('checkCompatibility', () => {
  const cases: readonly (readonly [string, string, 'ok' | 'warning' | 'error', RegExp?])[] = [
    // The issue's examples.
    ['text', 'int', 'warning', /parsed as a number/],
    [
      'num186',
      'dec102',
      'warning',
      /more than 2 decimals are rounded.*more than 8 integer digits are rejected/,
    ],
    ['varchar100', 'varchar40', 'warning', /longer than 40 characters are rejected/],
    ['json', 'int', 'error', /json cannot be stored in int\(11\)/],
    // Integers.
    ['int2', 'smallint', 'ok'],
    ['int2', 'int', 'ok'],
    ['int4', 'int', 'ok'],
    ['int8', 'int', 'warning', /outside -2147483648..2147483647/],
    ['int4', 'int_u', 'warning', /outside 0..4294967295/],
    ['int4', 'bigint', 'ok'],
    ['int4', 'dec102', 'warning', /more than 8 digits/],
    ['int2', 'dec102', 'ok'],
    ['int4', 'double', 'ok'],
    ['int8', 'double', 'warning', /lose precision/],
    ['int4', 'varchar20', 'ok'],
    ['int8', 'varchar5', 'warning'],
    ['int4', 'json', 'ok'],
    ['int4', 'date', 'error'],
    ['int4', 'year', 'warning'],
    // numeric.
    ['num102', 'dec102', 'ok'],
    ['num82', 'dec102', 'ok'],
    ['num', 'dec102', 'warning'],
    ['num90', 'int', 'ok'],
    ['num102', 'int', 'warning', /rounded half away from zero/],
    ['num102', 'double', 'ok'],
    ['num', 'double', 'warning', /beyond the 15th/],
    ['num102', 'varchar20', 'ok'],
    ['num102', 'json', 'ok'],
    ['num102', 'date', 'error'],
    // Floats.
    ['float8', 'double', 'ok'],
    ['float4', 'float', 'ok'],
    ['float8', 'float', 'warning'],
    ['float8', 'dec102', 'warning', /NaN and infinities are rejected/],
    ['float8', 'json', 'ok'],
    // Booleans.
    ['bool', 'bool', 'ok'],
    ['bool', 'bit1', 'ok'],
    ['bool', 'varchar5', 'ok'],
    ['bool', 'json', 'ok'],
    ['bool', 'enum', 'warning'],
    ['bool', 'date', 'error'],
    // Text.
    ['varchar40', 'varchar40', 'ok'],
    ['varchar40', 'text', 'ok'],
    ['varchar100', 'tinytext', 'warning', /longer than 255 bytes/],
    ['text', 'varchar255', 'warning'],
    ['text', 'longtext', 'ok'],
    ['text', 'text', 'warning', /65535 bytes/],
    ['bpchar10', 'varchar20', 'ok'],
    ['code', 'varchar5', 'ok'],
    ['code', 'enum', 'warning', /labels/],
    ['text', 'dt6', 'warning', /ISO 8601/],
    ['text', 'json', 'warning', /JSON document/],
    ['text', 'blob', 'warning', /UTF-8 bytes/],
    // Derived values.
    ['derived', 'varchar5', 'ok'],
    ['derived', 'int', 'warning'],
    ['derived', 'json', 'warning'],
    ['derived', 'dt6', 'warning'],
    // Dates and times.
    ['date', 'date', 'ok'],
    ['date', 'dt6', 'ok'],
    ['date', 'ts', 'warning', /TIMESTAMP holds/],
    ['date', 'int', 'error'],
    ['ts', 'dt6', 'ok'],
    ['ts3', 'dt3', 'ok'],
    ['ts', 'dt3', 'warning', /truncated/],
    ['tstz', 'dt6', 'ok'],
    ['tstz', 'date', 'warning', /UTC date/],
    ['tstz', 'ts', 'warning', /session time zone/],
    ['tstz', 'time6', 'warning'],
    ['tstz', 'varchar20', 'warning'],
    ['tstz', 'varchar40', 'ok'],
    ['time', 'time6', 'ok'],
    ['timetz', 'time6', 'warning', /UTC/],
    ['time', 'dt6', 'error'],
    // uuid.
    ['uuid', 'char36', 'ok'],
    ['uuid', 'varchar20', 'error', /36 characters/],
    ['uuid', 'bin16', 'ok'],
    ['uuid', 'varbin8', 'error', /16 bytes/],
    ['uuid', 'json', 'ok'],
    ['uuid', 'int', 'error'],
    // JSON and arrays.
    ['jsonb', 'json', 'ok'],
    ['json', 'json', 'ok'],
    ['jsonb', 'longtext', 'ok'],
    ['jsonb', 'varchar255', 'warning'],
    ['jsonb', 'blob', 'error'],
    ['int4s', 'json', 'ok'],
    ['texts', 'json', 'ok'],
    ['texts', 'longtext', 'warning', /array literals/],
    ['int4s', 'int', 'error'],
    // bytea.
    ['bytea', 'longblob', 'ok'],
    ['bytea', 'blob', 'warning', /65535 bytes/],
    ['bytea', 'bin16', 'warning', /padded/],
    ['bytea', 'longtext', 'warning', /hex/],
    ['bytea', 'int', 'error'],
    // Enums.
    ['mood', 'enum', 'ok'],
    ['mood', 'varchar63', 'ok'],
    ['mood', 'varchar20', 'warning'],
    ['mood', 'json', 'ok'],
    ['mood', 'int', 'error'],
    // Everything else travels as text.
    ['interval', 'longtext', 'ok'],
    ['interval', 'varchar255', 'warning'],
    ['inet', 'varchar43', 'ok'],
    ['inet', 'varchar20', 'warning'],
    ['money', 'longtext', 'ok'],
    ['money', 'dec102', 'error', /text form/],
    ['interval', 'time6', 'error'],
    // Columns nothing converts into.
    ['text', 'set', 'error', /not supported/],
    ['int4', 'geometry', 'error', /not supported/],
  ];

  for (const [from, to, level, reason] of cases) {
    it(`${from} → ${to}: ${level}`, () => {
      const verdict = check(from, to);
      expect(verdict.level, verdict.reason).toBe(level);
      if (level !== 'ok') expect(verdict.reason).toBeTruthy();
      if (reason !== undefined) expect(verdict.reason).toMatch(reason);
    });
  }
});

describe('compileConversion agrees with checkCompatibility', () => {
  it('refuses exactly the pairs reported as errors, for every source and target type here', () => {
    let compiled = 0;
    for (const from of [...sources.keys(), 'derived']) {
      for (const to of targets.keys()) {
        const verdict = check(from, to);
        expect(['ok', 'warning', 'error']).toContain(verdict.level);
        expect(Object.isFrozen(verdict)).toBe(true);
        const compile = () =>
          compileConversion(source(from), targets.get(to)!, { mapping: 'm', column: to });
        if (verdict.level === 'error') {
          expect(compile, `${from} → ${to}`).toThrow(ConfigError);
        } else {
          expect(compile()(null), `${from} → ${to}`).toBeNull();
          compiled++;
        }
      }
    }
    expect(compiled).toBeGreaterThan(300);
  });
});
