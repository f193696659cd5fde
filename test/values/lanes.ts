import { Readable } from 'node:stream';
import { expect } from 'vitest';
import { loadDataSql } from '../../src/mysql/load-data/load-data-statements.js';
import { fieldFormOf, LoadDataText } from '../../src/mysql/load-data/load-data-text.js';
import type { Canonicalizer } from '../../src/values/canonical.js';
import { compileCanonical } from '../../src/values/canonical.js';
import type { SourceType, TargetColumn, TargetValue } from '../../src/values/column-types.js';
import { type Conversion, compileConversion } from '../../src/values/compile-conversion.js';
import type { TestDatabases } from '../support/databases.js';
import { readSourceTypes, readTargetColumns } from './catalogs.js';

/**
 * One PostgreSQL column type paired with one MariaDB column type, each in a real one-column
 * table, with the conversion and canonical form compiled from the live catalogs.
 */
export interface Lane {
  readonly name: string;
  readonly pgType: string;
  readonly source: SourceType;
  readonly target: TargetColumn;
  readonly convert: Conversion;
  readonly canonical: Canonicalizer;
}

/** What one batch did on its way through both servers. */
export interface Trip {
  /** The text form PostgreSQL printed for each input. */
  readonly texts: readonly (string | null)[];
  /** What the conversion made of it. */
  readonly converted: readonly TargetValue[];
  /** What mysql2 read back from the MariaDB column. */
  readonly stored: readonly unknown[];
}

/** `derived`: the values are a mapping's derived text (the PostgreSQL column is plain text). */
export async function createLane(
  db: TestDatabases,
  name: string,
  pgType: string,
  mysqlType: string,
  derived = false,
): Promise<Lane> {
  await db.pg.query(`create table "p_${name}" (ord int primary key, v ${pgType})`);
  await db.mysql.query(`create table \`m_${name}\` (id int primary key, v ${mysqlType})`);
  const source = (await readSourceTypes(db.pg, `p_${name}`)).get('v')!;
  const target = (await readTargetColumns(db.mysql, `m_${name}`)).get('v')!;
  return {
    name,
    pgType,
    source,
    target,
    convert: compileConversion(derived ? 'text' : source, target, {
      mapping: `lane_${name}`,
      column: 'v',
    }),
    canonical: compileCanonical(target),
  };
}

/**
 * Stores `inputs` (PostgreSQL input literals) in the typed PostgreSQL table and reads back the
 * server's text form, converts it, writes it to MariaDB (`query`: client-side literals, as a
 * multi-row upsert does; `execute`: binary protocol; `load`: the backfill's LOAD DATA file, whose
 * stored bytes must also equal what `query` stores) and reads it back.
 */
export async function roundTrip(
  db: TestDatabases,
  lane: Lane,
  inputs: readonly (string | null)[],
  bind: 'query' | 'execute' | 'load' = 'query',
): Promise<Trip> {
  const pgRows = await db.pg.query<{ v: string | null }>(
    `with stored as (
       insert into "p_${lane.name}" (ord, v)
       select ord, v::${lane.pgType} from unnest($1::text[]) with ordinality as input(v, ord)
       returning ord, v)
     select v from stored order by ord`,
    [inputs],
  );
  await db.pg.query(`truncate "p_${lane.name}"`);
  const texts = pgRows.rows.map((row) => row.v);
  const converted = texts.map((text) => lane.convert(text));
  await db.mysql.query(`delete from \`m_${lane.name}\``);
  if (bind === 'load') {
    await loadLane(db, lane, converted);
  } else if (converted.length > 0) {
    const sql = `insert into \`m_${lane.name}\` (id, v) values ${converted.map(() => '(?, ?)').join(', ')}`;
    const params = converted.flatMap((value, index) => [index, value]);
    if (bind === 'execute') {
      await db.mysql.execute(sql, params as never);
      db.mysql.unprepare(sql);
    } else {
      await db.mysql.query(sql, params);
    }
  }
  const [rows] = await db.mysql.query(`select v from \`m_${lane.name}\` order by id`);
  return { texts, converted, stored: (rows as { v: unknown }[]).map((row) => row.v) };
}

/**
 * Writes the converted values with LOAD DATA LOCAL (the backfill's file and statement), and with
 * the writer's literals into a twin table: both must load without a warning and hold the same
 * bytes, so the audit finds a backfilled row equal to a streamed one.
 */
async function loadLane(
  db: TestDatabases,
  lane: Lane,
  converted: readonly TargetValue[],
): Promise<void> {
  const table = `m_${lane.name}`;
  const twin = `m_${lane.name}_w`;
  await db.mysql.query(`create table if not exists \`${twin}\` like \`${table}\``);
  await db.mysql.query(`delete from \`${twin}\``);
  const forms = ['text', fieldFormOf(lane.target)] as const;
  const text = new LoadDataText(['id', 'v'], forms);
  converted.forEach((value, index) => {
    text.add({ id: index, v: value });
  });
  const file = text.take();
  const [loaded] = await db.mysql.query({
    sql: loadDataSql(table, ['id', 'v'], forms),
    // An empty chunk would be sent as an empty packet, which ends the file early.
    infileStreamFactory: () => Readable.from(file === null ? [] : [file]),
  });
  const [warnings] = await db.mysql.query('show warnings');
  expect(warnings, `${lane.name}: LOAD DATA warnings`).toEqual([]);
  expect((loaded as { affectedRows: number }).affectedRows).toBe(converted.length);
  if (converted.length > 0) {
    const sql = `insert into \`${twin}\` (id, v) values ${converted.map(() => '(?, ?)').join(', ')}`;
    await db.mysql.query(
      sql,
      converted.flatMap((value, index) => [index, value]),
    );
  }
  const bytes = async (name: string) =>
    (await db.mysql.query(`select id, hex(v) as v from \`${name}\` order by id`))[0];
  expect(await bytes(table), `${lane.name}: LOAD DATA vs INSERT bytes`).toEqual(await bytes(twin));
}

/** Every converted value and its read-back twin have the same canonical form, and it is `expected`. */
export function expectStored(lane: Lane, trip: Trip, expected?: readonly (string | null)[]): void {
  const fromConversion = trip.converted.map((value) => lane.canonical(value));
  const fromServer = trip.stored.map((value) => lane.canonical(value));
  expect(
    fromServer,
    `${lane.name}: server vs conversion for ${JSON.stringify(trip.texts)}`,
  ).toEqual(fromConversion);
  if (expected !== undefined)
    expect(fromServer, `${lane.name}: expectation for ${JSON.stringify(trip.texts)}`).toEqual(
      expected,
    );
}

/**
 * The round-trip catalogue: one lane per pair of column types the values module converts,
 * as [name, PostgreSQL type, MariaDB type]. The `mood` type is an enum of moodLabels.
 */
export const laneTypes: readonly (readonly [string, string, string])[] = [
  ['int2', 'int2', 'smallint'],
  ['int4', 'int4', 'int'],
  ['int8', 'int8', 'bigint'],
  ['int8u', 'int8', 'bigint unsigned'],
  ['int4dec', 'int4', 'decimal(12,2)'],
  ['num38', 'numeric', 'decimal(38,10)'],
  ['numround', 'numeric(30,8)', 'decimal(20,4)'],
  ['float8', 'float8', 'double'],
  ['float4', 'float4', 'float'],
  ['bool', 'bool', 'boolean'],
  ['varchar', 'varchar(20)', 'varchar(20)'],
  ['char', 'varchar(10)', 'char(10)'],
  ['bpchar', 'char(8)', 'varchar(8)'],
  ['text', 'text', 'text'],
  ['date', 'date', 'date'],
  ['ts6', 'timestamp', 'datetime(6)'],
  ['ts3', 'timestamp', 'datetime(3)'],
  ['ts0', 'timestamp(3)', 'datetime'],
  ['tstz', 'timestamptz', 'datetime(6)'],
  ['time', 'time', 'time(6)'],
  ['timetz', 'timetz', 'time(6)'],
  ['uuid', 'uuid', 'char(36)'],
  ['uuidbin', 'uuid', 'binary(16)'],
  ['jsonb', 'jsonb', 'json'],
  ['json', 'json', 'json'],
  ['texts', 'text[]', 'json'],
  ['texts2', 'text[][]', 'json'],
  ['int8s', 'int8[]', 'json'],
  ['nums', 'numeric[]', 'json'],
  ['floats', 'float8[]', 'json'],
  ['bools', 'bool[]', 'json'],
  ['bytea', 'bytea', 'blob'],
  ['varbin', 'bytea', 'varbinary(64)'],
  ['mood', 'mood', "enum('happy','sad','so-so','ünï ☃','it''s')"],
  ['moodtext', 'mood', 'varchar(63)'],
];
/** Derived values (map, template, const, …): text parsed per target type. [name, MariaDB type] */
export const derivedLaneTypes: readonly (readonly [string, string])[] = [
  ['d_dec', 'decimal(20,4)'],
  ['d_int', 'int'],
  ['d_dt', 'datetime(6)'],
];
// No 4-byte characters: MariaDB stores them in ENUM labels but information_schema shows '?'.
export const moodLabels = ['happy', 'sad', 'so-so', 'ünï ☃', "it's"];
