import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetTable } from '../../src/mapping/tables.js';
import { introspectTarget, parseEnumLabels } from '../../src/mysql/introspect.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

let dbs: TestDatabases;
let tables: ReadonlyMap<string, TargetTable>;

beforeAll(async () => {
  dbs = await createTestDatabases('target_introspect');
  await dbs.mysql.query(`
    create table t_types (
      id bigint unsigned not null auto_increment primary key,
      code varchar(40) not null,
      region char(2) not null default 'EU',
      amount decimal(12, 3) null,
      ratio double null,
      small tinyint(1) not null default 0,
      happened datetime(6) not null,
      day date null,
      doc json null,
      plain_long longtext null,
      checked_long longtext null check (json_valid(checked_long)),
      body text null,
      picture mediumblob null,
      state enum('Open', 'it''s done', 'a,b') not null,
      twice decimal(13, 3) as (amount * 2) virtual,
      stored_twice decimal(13, 3) as (amount * 2) stored,
      created timestamp(3) not null default current_timestamp(3),
      unique key t_types_code_region (code, region),
      unique key t_types_day (day)
    ) character set utf8mb4`);
  await dbs.mysql.query('create table t_plain (a int null, b int null) character set utf8mb4');
  await dbs.mysql.query('create table T_Case (Id int not null primary key) character set utf8mb4');
  tables = await introspectTarget(dbs.mysql, ['t_types', 't_plain', 'T_Case', 'missing']);
});

afterAll(async () => {
  await dbs?.drop();
});

describe('introspectTarget', () => {
  it('returns the tables that exist, by their name', () => {
    expect([...tables.keys()].sort()).toEqual(['T_Case', 't_plain', 't_types']);
  });

  it('describes columns as TargetColumn', () => {
    const columns = tables.get('t_types')!.columns;
    expect(columns.get('id')).toEqual({
      name: 'id',
      dataType: 'bigint',
      columnType: 'bigint(20) unsigned',
      maxLength: null,
      precision: 20,
      scale: 0,
      datetimePrecision: null,
      unsigned: true,
      nullable: false,
      isJson: false,
    });
    expect(columns.get('code')).toMatchObject({
      dataType: 'varchar',
      columnType: 'varchar(40)',
      maxLength: 40,
      nullable: false,
    });
    expect(columns.get('region')).toMatchObject({ dataType: 'char', maxLength: 2 });
    expect(columns.get('amount')).toMatchObject({
      dataType: 'decimal',
      precision: 12,
      scale: 3,
      unsigned: false,
      nullable: true,
    });
    expect(columns.get('ratio')).toMatchObject({ dataType: 'double' });
    expect(columns.get('small')).toMatchObject({ dataType: 'tinyint', columnType: 'tinyint(1)' });
    expect(columns.get('happened')).toMatchObject({ dataType: 'datetime', datetimePrecision: 6 });
    expect(columns.get('created')).toMatchObject({ dataType: 'timestamp', datetimePrecision: 3 });
    expect(columns.get('body')).toMatchObject({ dataType: 'text', maxLength: 65535 });
    expect(columns.get('picture')).toMatchObject({ dataType: 'mediumblob', maxLength: 16777215 });
  });

  it('recognises JSON columns: MySQL JSON, MariaDB LONGTEXT with a json_valid check', () => {
    const columns = tables.get('t_types')!.columns;
    expect(columns.get('doc')!.isJson).toBe(true);
    expect(columns.get('checked_long')!.isJson).toBe(true);
    expect(columns.get('plain_long')!.isJson).toBe(false);
    expect(columns.get('body')!.isJson).toBe(false);
  });

  it('reads ENUM labels exactly, quotes and commas included, and keeps their case in columnType', () => {
    const state = tables.get('t_types')!.columns.get('state')!;
    expect(state.enumValues).toEqual(['Open', "it's done", 'a,b']);
    expect(state.columnType).toBe("enum('Open','it''s done','a,b')");
    expect(parseEnumLabels("ENUM('x','y''z')")).toEqual(['x', "y'z"]);
  });

  it('reads the primary key, the other unique keys in column order, required and generated columns', () => {
    const table = tables.get('t_types')!;
    expect(table.primaryKey).toEqual(['id']);
    expect([...table.uniqueKeys].map((key) => [...key]).sort()).toEqual([
      ['code', 'region'],
      ['day'],
    ]);
    // id is AUTO_INCREMENT, region and small have defaults, created defaults to now.
    expect(table.requiredColumns).toEqual(['code', 'happened', 'state']);
    expect(table.generatedColumns).toEqual(['twice', 'stored_twice']);
    expect(tables.get('t_plain')).toMatchObject({
      primaryKey: [],
      uniqueKeys: [],
      requiredColumns: [],
      generatedColumns: [],
    });
    expect(tables.get('T_Case')!.primaryKey).toEqual(['Id']);
  });

  it('answers an empty list without querying', async () => {
    expect((await introspectTarget(dbs.mysql, [])).size).toBe(0);
  });
});
