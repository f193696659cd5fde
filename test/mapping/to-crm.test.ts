import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ValueError } from '../../src/errors/millrace-error.js';
import { checkMapping } from '../../src/mapping/check-mapping.js';
import { compileMappings } from '../../src/mapping/compile-mappings.js';
import type { CompiledMapping, SourceRow } from '../../src/mapping/compiled-mapping.js';
import { loadMappings, readMappings } from '../../src/mapping/load-mappings.js';
import { mappedCrmTables } from '../../src/mapping/mapping-index.js';
import type { MappingSpec } from '../../src/mapping/mapping-spec.js';
import { mesSourceTable, type Schemas, type SourceTable } from '../../src/mapping/tables.js';
import { toCrmTypes } from '../../src/mapping/to-crm-types.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { introspectCrmTargets } from '../../src/postgres/introspect-targets.js';
import type { CrmColumn, MesColumn } from '../../src/values/column-types.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * to-crm mappings against both live schemas: a MES work-order table in this file's MariaDB
 * database as the source, a CRM table (own schema and enum type) in its PostgreSQL database as
 * the target. Values read from MariaDB in their text form go through the compiled mapping into
 * PostgreSQL and come back exactly.
 */
let dbs: TestDatabases;
const dirs: string[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases('to_crm_mapping');
  await dbs.mysql.query(`
    create table work_order (
      id bigint unsigned not null primary key,
      ref varchar(40) not null,
      status enum('planned','running','done') not null,
      qty_planned decimal(12,3) not null,
      qty_done decimal(12,3) null,
      planned_start datetime(6) null,
      due date null,
      shift_start time(3) null,
      rush tinyint(1) not null default 0,
      weight double null,
      attrs longtext null check (json_valid(attrs)),
      crm_uuid char(36) null,
      photo blob null,
      note text null,
      unique key work_order_ref (ref)
    ) character set utf8mb4`);
  await dbs.pg.query(`
    create schema mes_staging;
    create type mes_staging.wo_status as enum ('planned', 'running', 'done', 'cancelled');
    create table mes_staging.work_order_progress (
      mes_order_id numeric(20,0) primary key,
      ref varchar(40) not null,
      status mes_staging.wo_status not null,
      qty_planned numeric(12,3) not null,
      qty_done numeric(12,3),
      planned_start timestamptz(6),
      due date,
      shift_start time(3),
      rush boolean not null,
      weight double precision,
      attrs jsonb,
      crm_uuid uuid,
      photo bytea,
      note text,
      source_system text,
      synced_lsn bigint,
      synced_at timestamptz,
      is_deleted boolean not null default false,
      deleted_at timestamptz
    );
    create table mes_staging.partial_key (id bigint not null, ref text);
    create unique index partial_key_id on mes_staging.partial_key (id) where ref is not null;
    create table mes_staging.small (id bigint primary key, qty numeric(5,2), code varchar(3), must text not null, note varchar(10));
  `);
});

afterAll(async () => {
  await dbs?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const workOrders = `
name: work_orders_back
direction: to-crm
source: work_order
target: mes_staging.work_order_progress
key:
  mes_order_id: id
columns:
  ref: ref
  status: status
  qty_planned: qty_planned
  qty_done: qty_done
  planned_start: planned_start
  due: due
  shift_start: shift_start
  rush: rush
  weight: weight
  attrs: attrs
  crm_uuid: crm_uuid
  photo: photo
  note: { from: note, transform: [trim] }
  source_system: { const: MES }
filter:
  status: { ne: planned }
onDelete: soft
softDelete: { flag: is_deleted, at: deleted_at }
metadata: { lsn: synced_lsn, syncedAt: synced_at }
`;

function mappingsDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-to-crm-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

async function schemasOf(specs: readonly MappingSpec[]): Promise<Schemas<MesColumn, CrmColumn>> {
  const tables = mappedCrmTables(specs);
  const source = new Map<string, SourceTable<MesColumn>>();
  for (const [name, table] of await introspectTarget(dbs.mysql, tables.source))
    source.set(name, mesSourceTable(table));
  return { source, target: await introspectCrmTargets(dbs.pg, tables.target) };
}

async function problemsOf(yaml: string): Promise<string[]> {
  const loaded = readMappings(mappingsDir({ 'm.yaml': yaml }));
  expect(loaded.problems).toEqual([]);
  const schemas = await schemasOf(loaded.specs);
  return loaded.specs
    .flatMap((spec) => checkMapping(spec, schemas, toCrmTypes))
    .map(
      (problem) => `${problem.level} ${problem.code} ${problem.field ?? ''}: ${problem.message}`,
    );
}

describe('to-crm mappings: load, check and compile against both live schemas', () => {
  it('loads direction: to-crm with a bare MES table and schema.table in the CRM; to-mes stays the default', () => {
    const dir = mappingsDir({
      'back.yaml': workOrders,
      'plain.yaml':
        'direction: to-crm\nsource: mes.work_order\ntarget: work_order\nkey: { id: id }\n',
      'forward.yaml': 'source: public.sale_order\ntarget: stg_order\nkey: { id: id }\n',
    });
    const loaded = readMappings(dir);
    expect(loaded.problems).toEqual([]);
    expect(
      loaded.specs.map((spec) => [spec.name, spec.direction, spec.sourceKey, spec.target]),
    ).toEqual([
      ['work_orders_back', 'to-crm', 'work_order', 'mes_staging.work_order_progress'],
      ['forward', 'to-mes', 'public.sale_order', 'stg_order'],
      ['plain', 'to-crm', 'work_order', 'public.work_order'],
    ]);
    expect(loadMappings(dir).map((spec) => spec.name)).toEqual(['forward']);
    expect(loadMappings(dir, 'to-crm').map((spec) => spec.name)).toEqual([
      'work_orders_back',
      'plain',
    ]);
  });

  it('refuses a to-crm source with a schema of CRM shape and a bad direction', () => {
    const loaded = readMappings(
      mappingsDir({
        'a.yaml': 'direction: to-crm\nsource: a.b.c\ntarget: x\nkey: { id: id }\n',
        'b.yaml': 'direction: sideways\nsource: public.a\ntarget: x\nkey: { id: id }\n',
      }),
    );
    expect(loaded.problems.map((problem) => `${problem.field}: ${problem.message}`)).toEqual([
      'source: expected a MES table name, like work_order',
      'direction: expected to-mes or to-crm',
    ]);
  });

  it('passes a mapping of every type family; only a TIME (a duration in MySQL) gets a warning', async () => {
    expect(await problemsOf(workOrders)).toEqual([
      'warning TYPE_WARNING columns.shift_start: time(3) into time(3): values outside 00:00:00..24:00:00 are rejected',
    ]);
  });

  it('reports what does not fit: key not usable by ON CONFLICT, types, lengths, required columns', async () => {
    const problems = await problemsOf(`
name: bad
direction: to-crm
source: work_order
target: mes_staging.small
key: { qty: id }
columns:
  code: ref
  id: photo
  nope: note
metadata: { lsn: note }
`);
    expect(problems).toEqual([
      'warning TYPE_WARNING key.qty: bigint(20) unsigned into numeric(5,2): values with more than 3 integer digits are rejected',
      'error KEY_NOT_UNIQUE key: (qty) is not the primary key or a unique key of mes_staging.small (it has primary key (id)); upserts need the key to be unique',
      'warning TYPE_WARNING columns.code: varchar(40) into varchar(3): values longer than 3 characters are rejected',
      'error TYPE_INCOMPATIBLE columns.id: blob into bigint: blob cannot be stored in bigint; map it to a column of a matching type, or to text',
      'warning NULL_INTO_NOT_NULL columns.id: the value can be NULL but mes_staging.small.id is NOT NULL: such rows are rejected as bad rows',
      'error TARGET_COLUMN_MISSING columns.nope: target column nope does not exist in mes_staging.small',
      'error METADATA_TYPE metadata.lsn: note is varchar: a binlog position needs bigint, numeric(20,0) or text',
      'error NOT_NULL_UNMAPPED columns: mes_staging.small column must is NOT NULL without a default and the mapping does not write it: every insert would fail',
      'warning OTHER_UNIQUE_KEY key: mes_staging.small also has the unique key (id), which the mapping writes: a source row with the same (id) as another row is refused by PostgreSQL (ON CONFLICT covers only the mapped key) and becomes a dead letter',
    ]);
    const partial = await problemsOf(
      'direction: to-crm\nsource: work_order\ntarget: mes_staging.partial_key\nkey: { id: id }\n',
    );
    expect(partial[1]).toMatch(
      /^error KEY_NOT_UNIQUE key: \(id\) is not the primary key or a unique key/,
    );
    const missing = await problemsOf(
      'direction: to-crm\nsource: no_such_table\ntarget: mes_staging.nothing\nkey: { id: id }\n',
    );
    expect(missing).toEqual([
      'error SOURCE_TABLE_MISSING source: table no_such_table does not exist in the MES database (or is not a table)',
      'error TARGET_TABLE_MISSING target: table mes_staging.nothing does not exist in the CRM (run millrace migrate?)',
    ]);
  });

  it('compiles filters and map keys in the MES types: a literal that is not a value of the column is an error', async () => {
    const problems = await problemsOf(`
direction: to-crm
source: work_order
target: mes_staging.small
key: { id: id }
columns:
  must: { from: rush, map: { 1: yes, 0: no, maybe: x } }
filter:
  due: { gt: tomorrow }
`);
    expect(problems).toEqual([
      'warning TYPE_WARNING key.id: bigint(20) unsigned into bigint: values outside -9223372036854775808..9223372036854775807 are rejected',
      "warning MAP_KEY_NEVER_MATCHES columns.must.map: key 'maybe' can never match: rush is tinyint(1)",
      "error FILTER_LITERAL filter.due.gt: 'tomorrow' is not a date like 2024-01-31 (due is date)",
    ]);
  });
});

/** A MES row in MySQL's text form, as the binlog source hands it over (binary as `\x` + hex). */
async function mesRows(): Promise<SourceRow[]> {
  const [rows] = await dbs.mysql.query(`
    select cast(id as char) as id, ref, cast(status as char) as status,
           cast(qty_planned as char) as qty_planned, cast(qty_done as char) as qty_done,
           cast(planned_start as char) as planned_start, cast(due as char) as due,
           cast(shift_start as char) as shift_start, cast(rush as char) as rush,
           cast(weight as char) as weight, attrs, crm_uuid,
           if(photo is null, null, concat('\\\\x', lower(hex(photo)))) as photo, note
      from work_order order by id`);
  return rows as SourceRow[];
}

describe('to-crm values round-trip exactly through MariaDB and PostgreSQL', () => {
  let mapping: CompiledMapping;

  beforeAll(async () => {
    await dbs.mysql.query(`
      insert into work_order values
        (18446744073709551615, 'WO-1', 'running', 123456789.125, -0.001, '2026-01-02 03:04:05.123456',
         '2026-02-28', '07:30:00.250', 1, 0.1, '{"line": "A", "size": 1.50, "tags": ["x"]}',
         '5F1B7A3C-0D8E-4C3B-9A51-2B7C9E0F1A2D', x'00ff10', '  Grüße 🏭  '),
        (1, 'WO-2', 'done', 0, null, null, null, null, 0, -1.5e-7, null, null, x'', null)`);
    const specs = loadMappings(mappingsDir({ 'back.yaml': workOrders }), 'to-crm');
    mapping = compileMappings(specs, await schemasOf(specs), { types: toCrmTypes })[0]!;
  });

  it('writes what the MES holds, digit for digit, microsecond for microsecond', async () => {
    const meta = { lsn: (42n << 32n) | 1234n, syncedAt: new Date('2026-03-01T10:00:00.123Z') };
    for (const row of await mesRows()) {
      expect(mapping.matches(row)).toBe(true);
      const out = mapping.project(row, meta);
      const columns = Object.keys(out);
      await dbs.pg.query(
        `insert into mes_staging.work_order_progress (${columns.join(', ')})
         values (${columns.map((_, index) => `$${index + 1}`).join(', ')})`,
        columns.map((column) => out[column]),
      );
    }
    const { rows } = await dbs.pg.query(
      `select mes_order_id::text, ref, status::text, qty_planned::text, qty_done::text,
              planned_start at time zone 'UTC' as planned_start_utc, due::text, shift_start::text,
              rush::text, weight::text, attrs::text, crm_uuid::text, encode(photo, 'hex') as photo,
              note, source_system, synced_lsn::text, synced_at at time zone 'UTC' as synced_at_utc,
              is_deleted::text, deleted_at::text
         from mes_staging.work_order_progress order by mes_order_id`,
    );
    expect(rows).toEqual([
      {
        mes_order_id: '1',
        ref: 'WO-2',
        status: 'done',
        qty_planned: '0.000',
        qty_done: null,
        planned_start_utc: null,
        due: null,
        shift_start: null,
        rush: 'false',
        weight: '-1.5e-07',
        attrs: null,
        crm_uuid: null,
        photo: '',
        note: null,
        source_system: 'MES',
        synced_lsn: '180388627666',
        synced_at_utc: '2026-03-01 10:00:00.123',
        is_deleted: 'false',
        deleted_at: null,
      },
      {
        mes_order_id: '18446744073709551615',
        ref: 'WO-1',
        status: 'running',
        qty_planned: '123456789.125',
        qty_done: '-0.001',
        planned_start_utc: '2026-01-02 03:04:05.123456',
        due: '2026-02-28',
        shift_start: '07:30:00.25',
        rush: 'true',
        weight: '0.1',
        attrs: '{"line": "A", "size": 1.50, "tags": ["x"]}',
        crm_uuid: '5f1b7a3c-0d8e-4c3b-9a51-2b7c9e0f1a2d',
        photo: '00ff10',
        note: 'Grüße 🏭',
        source_system: 'MES',
        synced_lsn: '180388627666',
        synced_at_utc: '2026-03-01 10:00:00.123',
        is_deleted: 'false',
        deleted_at: null,
      },
    ]);
    expect(mapping.softDeleteRow(meta)).toEqual({
      is_deleted: 'true',
      deleted_at: '2026-03-01 10:00:00.123+00',
      synced_lsn: '180388627666',
      synced_at: '2026-03-01 10:00:00.123+00',
    });
  });

  it('turns a value that does not fit into a ValueError (a dead letter), and filters in MES terms', async () => {
    const [row] = await mesRows();
    expect(mapping.matches({ ...row!, status: 'planned' })).toBe(false);
    expect(() =>
      mapping.project(
        { ...row!, planned_start: '0000-00-00 00:00:00.000000' },
        {
          lsn: 1n,
          syncedAt: new Date(0),
        },
      ),
    ).toThrow(ValueError);
    expect(() =>
      mapping.project({ ...row!, qty_done: '1234567890.000' }, { lsn: 1n, syncedAt: new Date(0) }),
    ).toThrow(/does not fit numeric\(12,3\)/);
  });
});
