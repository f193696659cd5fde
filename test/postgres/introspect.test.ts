import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceTable } from '../../src/mapping/tables.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

let dbs: TestDatabases;
let tables: ReadonlyMap<string, SourceTable>;

beforeAll(async () => {
  dbs = await createTestDatabases('source_introspect');
  await dbs.pg.query(`
    create schema crm;
    create type mood as enum ('happy', 'sad');
    create domain code10 as varchar(10);
    create domain code_alias as code10 not null;
    create domain amount as numeric(12, 3);
    create domain tag as text;
    create table crm."Mixed Case" (
      "Id" bigint primary key,
      label code_alias,
      price amount,
      plain_numeric numeric,
      sized numeric(18, 6),
      stamp timestamptz(3),
      feeling mood,
      tags tag[],
      matrix int4[][],
      payload jsonb,
      blob bytea,
      small int2 not null,
      flag boolean,
      fixed char(4),
      note text
    );
    alter table crm."Mixed Case" alter column note set storage plain;
    create table no_pk (a int, b text);
    create table full_ident (id int primary key, b text);
    alter table full_ident replica identity full;
    create table nothing_ident (id int primary key, b text);
    alter table nothing_ident replica identity nothing;
    create table index_ident (id int primary key, code text not null, other int not null);
    create unique index index_ident_key on index_ident (other, code);
    alter table index_ident replica identity using index index_ident_key;
    create table parted (id int not null, region text not null, v text, primary key (id, region)) partition by list (region);
    create table parted_eu partition of parted for values in ('eu');
    create table parted_us partition of parted for values in ('us') partition by list (region);
    create table parted_us_east partition of parted_us for values in ('us');
    alter table parted_eu replica identity full;
    create table parted_full (id int primary key, v text) partition by hash (id);
    create table parted_full_0 partition of parted_full for values with (modulus 2, remainder 0);
    create table parted_full_1 partition of parted_full for values with (modulus 2, remainder 1);
    alter table parted_full_0 replica identity full;
    alter table parted_full_1 replica identity full;
    create view a_view as select 1 as id;
  `);
  tables = await introspectSource(dbs.pg, [
    { schema: 'crm', table: 'Mixed Case' },
    { schema: 'public', table: 'no_pk' },
    { schema: 'public', table: 'full_ident' },
    { schema: 'public', table: 'nothing_ident' },
    { schema: 'public', table: 'index_ident' },
    { schema: 'public', table: 'parted' },
    { schema: 'public', table: 'parted_eu' },
    { schema: 'public', table: 'parted_us_east' },
    { schema: 'public', table: 'parted_full' },
    { schema: 'public', table: 'a_view' },
    { schema: 'public', table: 'missing' },
  ]);
});

afterAll(async () => {
  await dbs?.drop();
});

describe('introspectSource', () => {
  it('finds tables by schema and exact (case-sensitive) name; views and missing tables are absent', () => {
    expect([...tables.keys()].sort()).toEqual([
      'crm.Mixed Case',
      'public.full_ident',
      'public.index_ident',
      'public.no_pk',
      'public.nothing_ident',
      'public.parted',
      'public.parted_eu',
      'public.parted_full',
      'public.parted_us_east',
    ]);
  });

  it('resolves domains to their base type, keeping the typmod a domain declares', () => {
    const columns = tables.get('crm.Mixed Case')!.columns;
    const type = (name: string) => columns.get(name)!.type;
    expect(type('label')).toMatchObject({ name: 'varchar', category: 'S', typmod: 14 });
    expect(type('price')).toMatchObject({
      name: 'numeric',
      category: 'N',
      typmod: ((12 << 16) | 3) + 4,
    });
    expect(type('plain_numeric')).toMatchObject({ name: 'numeric', typmod: -1 });
    expect(type('sized')).toMatchObject({ name: 'numeric', typmod: ((18 << 16) | 6) + 4 });
    expect(type('stamp')).toMatchObject({ name: 'timestamptz', category: 'D', typmod: 3 });
    expect(type('Id')).toEqual({ name: 'int8', oid: 20, category: 'N', typmod: -1 });
    expect(type('fixed')).toMatchObject({ name: 'bpchar', typmod: 8 });
    expect(type('flag')).toMatchObject({ name: 'bool', oid: 16, category: 'B' });
    expect(type('payload')).toMatchObject({ name: 'jsonb', oid: 3802, category: 'U' });
    expect(type('blob')).toMatchObject({ name: 'bytea', oid: 17 });
  });

  it('describes enums and arrays (of a domain: as arrays of its base type)', () => {
    const columns = tables.get('crm.Mixed Case')!.columns;
    expect(columns.get('feeling')!.type).toMatchObject({ name: 'mood', category: 'E' });
    expect(columns.get('feeling')!.type.elementName).toBeUndefined();
    expect(columns.get('tags')!.type).toEqual({
      name: '_text',
      oid: 1009,
      category: 'A',
      elementName: 'text',
      typmod: -1,
    });
    expect(columns.get('matrix')!.type).toEqual({
      name: '_int4',
      oid: 1007,
      category: 'A',
      elementName: 'int4',
      typmod: -1,
    });
  });

  it('reports NOT NULL (a domain NOT NULL constraint is not the column`s) and TOAST-ability', () => {
    const columns = tables.get('crm.Mixed Case')!.columns;
    expect(columns.get('Id')!.notNull).toBe(true);
    expect(columns.get('small')!.notNull).toBe(true);
    expect(columns.get('flag')!.notNull).toBe(false);
    expect(columns.get('label')!.notNull).toBe(false);
    const toastable = [...columns.values()]
      .filter((column) => column.toastable)
      .map((column) => column.name);
    // note has STORAGE PLAIN; fixed-size types never are.
    expect(toastable.sort()).toEqual(
      [
        'blob',
        'fixed',
        'label',
        'matrix',
        'payload',
        'plain_numeric',
        'price',
        'sized',
        'tags',
      ].sort(),
    );
    expect([...columns.keys()]).toEqual([
      'Id',
      'label',
      'price',
      'plain_numeric',
      'sized',
      'stamp',
      'feeling',
      'tags',
      'matrix',
      'payload',
      'blob',
      'small',
      'flag',
      'fixed',
      'note',
    ]);
  });

  it('reads the primary key and every kind of replica identity', () => {
    expect(tables.get('crm.Mixed Case')).toMatchObject({
      primaryKey: ['Id'],
      replicaIdentity: 'd',
      identityColumns: ['Id'],
      kind: 'r',
    });
    expect(tables.get('public.no_pk')).toMatchObject({
      primaryKey: [],
      replicaIdentity: 'd',
      identityColumns: [],
    });
    expect(tables.get('public.full_ident')).toMatchObject({
      replicaIdentity: 'f',
      identityColumns: ['id', 'b'],
    });
    expect(tables.get('public.nothing_ident')).toMatchObject({
      primaryKey: ['id'],
      replicaIdentity: 'n',
      identityColumns: [],
    });
    expect(tables.get('public.index_ident')).toMatchObject({
      primaryKey: ['id'],
      replicaIdentity: 'i',
      identityColumns: ['other', 'code'],
    });
    expect(tables.get('public.no_pk')!.partitionOf).toBeUndefined();
  });

  it('takes a partitioned table`s identity from its leaves, the weakest one winning', () => {
    // parted_eu is FULL but parted_us_east has the default (its primary key).
    expect(tables.get('public.parted')).toMatchObject({
      kind: 'p',
      primaryKey: ['id', 'region'],
      replicaIdentity: 'd',
      identityColumns: ['id', 'region'],
    });
    expect(tables.get('public.parted_full')).toMatchObject({
      kind: 'p',
      replicaIdentity: 'f',
      identityColumns: ['id', 'v'],
    });
  });

  it('names the partitioned root of a partition, through several levels', () => {
    expect(tables.get('public.parted_eu')).toMatchObject({
      kind: 'r',
      partitionOf: 'public.parted',
    });
    expect(tables.get('public.parted_us_east')).toMatchObject({
      kind: 'r',
      partitionOf: 'public.parted',
    });
  });

  it('answers an empty list without querying', async () => {
    expect((await introspectSource(dbs.pg, [])).size).toBe(0);
  });
});
