import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMapping } from '../../src/mapping/check-mapping.js';
import { readMappings } from '../../src/mapping/load-mappings.js';
import { mappedTables } from '../../src/mapping/mapping-index.js';
import { formatProblem } from '../../src/mapping/mapping-problem.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * `checkMapping` against real schemas: the CRM fixture and reference staging tables, plus tables
 * made for the cases below. Every error and warning `mappings check` can report appears here.
 */
let dbs: TestDatabases;
const tempDirs: string[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases('check_mapping');
  await loadCrmFixture(dbs.pg, 20);
  await migrateReferenceStaging(dbs);
  await dbs.pg.query(`
    create table no_pk (id integer not null, name text);
    create table ident_nothing (id integer primary key, name text);
    alter table ident_nothing replica identity nothing;
    create table ident_index (id integer primary key, code varchar(10) not null, name text);
    create unique index ident_index_code on ident_index (code);
    alter table ident_index replica identity using index ident_index_code;
    create table full_no_pk (id integer not null, name text);
    alter table full_no_pk replica identity full;
    create view v_orders as select * from sale_order;
    create table plain_partner (id integer primary key, order_id integer not null, name varchar(128) not null,
      email varchar(254), is_company boolean, state varchar(16), qty integer);
  `);
  await dbs.mysql.query(`
    create table chk_target (
      id int not null primary key,
      code varchar(200) not null,
      amount int null,
      note varchar(10) null,
      label char(3) null,
      flag varchar(5) null,
      at_date date null,
      lsn_int int null,
      lsn_short varchar(10) null,
      synced varchar(30) null,
      state enum('OPEN','DONE') null,
      doc json null,
      must_set int not null,
      twice int as (id * 2) virtual
    ) character set utf8mb4`);
  await dbs.mysql.query(
    'create table chk_unique (id int not null primary key, code varchar(64) not null, unique key chk_unique_code (code)) character set utf8mb4',
  );
  await dbs.mysql.query(
    'create table chk_nokey (id int null, code varchar(20) null) character set utf8mb4',
  );
});

afterAll(async () => {
  await dbs?.drop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Problems of one mapping (YAML) against the live schemas, as `level: file: mapping: field: problem`. */
async function check(yaml: string): Promise<string[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-check-'));
  tempDirs.push(dir);
  writeFileSync(path.join(dir, 'm.yaml'), yaml);
  const loaded = readMappings(dir);
  expect(loaded.problems.map(formatProblem)).toEqual([]);
  const tables = mappedTables(loaded.specs);
  const schemas = {
    source: await introspectSource(dbs.pg, tables.source),
    target: await introspectTarget(dbs.mysql, tables.target),
  };
  return loaded.specs
    .flatMap((spec) => checkMapping(spec, schemas))
    .map((problem) => `${problem.level}: ${formatProblem(problem).replace(`${dir}/`, '')}`);
}

/** A mapping onto chk_target that writes every required column, plus `rest`. */
const chk = (source: string, rest: string) => `source: ${source}
target: chk_target
key: { id: id }
${rest}`;

describe('the reference example', () => {
  it('passes without a warning against the fixture CRM and the reference migrations', async () => {
    // The to-mes mappings; the return path's (work_orders) is checked by test/cli/mappings-check.test.ts.
    const specs = readMappings(referenceMappingsDir).specs.filter(
      (spec) => spec.direction === 'to-mes',
    );
    const tables = mappedTables(specs);
    const schemas = {
      source: await introspectSource(dbs.pg, tables.source),
      target: await introspectTarget(dbs.mysql, tables.target),
    };
    expect(specs.flatMap((spec) => checkMapping(spec, schemas)).map(formatProblem)).toEqual([]);
  });
});

describe('checkMapping errors', () => {
  it('missing tables (a view is not a table)', async () => {
    expect(await check('source: public.nope\ntarget: stg_nope\nkey: { id: id }\n')).toEqual([
      'error: m.yaml: m: source: table public.nope does not exist in the CRM (or is not a table) (line 1)',
      'error: m.yaml: m: target: table stg_nope does not exist in the MES database (run millrace migrate?) (line 2)',
    ]);
    expect(
      await check(
        'source: public.v_orders\ntarget: stg_customer_contact\nkey: { crm_contact_id: id }\ncolumns: { contact_name: name }\n',
      ),
    ).toEqual([
      'error: m.yaml: m: source: table public.v_orders does not exist in the CRM (or is not a table) (line 1)',
    ]);
  });

  it('a partition instead of its partitioned table', async () => {
    const problems = await check(`source: public.sale_order_line_p0
target: stg_production_order_line
key: { crm_line_id: id }
`);
    expect(problems[0]).toBe(
      'error: m.yaml: m: source: public.sale_order_line_p0 is a partition of public.sale_order_line: map the partitioned table (changes are published through it) (line 1)',
    );
  });

  it('missing source columns: key, copy, rule, template placeholder, filter', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          `columns:
  code: nam
  must_set: { from: partner, default: 0 }
  note: { template: "{name}-{nope}" }
filter:
  stat: { eq: sale }
`,
        ).replace('key: { id: id }', 'key: { id: ident }'),
      ),
    ).toEqual([
      'error: m.yaml: m: key.id: source column ident does not exist in public.sale_order (line 3)',
      'error: m.yaml: m: columns.code: source column nam does not exist in public.sale_order (line 5)',
      'error: m.yaml: m: columns.must_set.from: source column partner does not exist in public.sale_order (line 6)',
      'error: m.yaml: m: columns.note.template: template placeholder nope does not exist in public.sale_order (line 7)',
      'error: m.yaml: m: filter.stat: source column stat does not exist in public.sale_order (line 9)',
    ]);
  });

  it('missing and generated target columns', async () => {
    expect(
      await check(`source: public.res_partner
target: chk_target
key: { idx: id }
columns: { code: name, must_set: id, nope: name, twice: id }
onDelete: soft
softDelete: { flag: gone, at: gone_at }
metadata: { lsn: lsn_nope, syncedAt: synced_nope }
`),
    ).toEqual([
      'error: m.yaml: m: key.idx: target column idx does not exist in chk_target (line 3)',
      'error: m.yaml: m: columns.nope: target column nope does not exist in chk_target (line 4)',
      'error: m.yaml: m: columns.twice: target column twice of chk_target is generated: it cannot be written (line 4)',
      'error: m.yaml: m: softDelete.flag: target column gone does not exist in chk_target (line 6)',
      'error: m.yaml: m: softDelete.at: target column gone_at does not exist in chk_target (line 6)',
      'error: m.yaml: m: metadata.lsn: target column lsn_nope does not exist in chk_target (line 7)',
      'error: m.yaml: m: metadata.syncedAt: target column synced_nope does not exist in chk_target (line 7)',
      'error: m.yaml: m: columns: chk_target column id is NOT NULL without a default and the mapping does not write it: every insert would fail (line 4)',
    ]);
  });

  it('a key that is not unique on the target', async () => {
    expect(await check('source: public.sale_order\ntarget: chk_nokey\nkey: { id: id }\n')).toEqual([
      'error: m.yaml: m: key: (id) is not the primary key or a unique key of chk_nokey (it has no primary key); upserts need the key to be unique (line 3)',
    ]);
    expect(
      await check('source: public.sale_order\ntarget: chk_target\nkey: { must_set: partner_id }\n'),
    ).toEqual([
      'error: m.yaml: m: key: (must_set) is not the primary key or a unique key of chk_target (it has primary key (id)); upserts need the key to be unique (line 3)',
      'warning: m.yaml: m: key: source key (partner_id) is not known to be unique in public.sale_order (primary key (id)): two source rows could write one target row (line 3)',
      'error: m.yaml: m: columns: chk_target columns id, code are NOT NULL without a default and the mapping does not write them: every insert would fail (line 1)',
    ]);
  });

  it('a source key the replica identity does not carry', async () => {
    const onto = (source: string, from: string) =>
      check(
        `source: ${source}\ntarget: chk_target\nkey: { id: ${from} }\ncolumns: { code: name, must_set: ${from} }\n`,
      );
    expect(await onto('public.plain_partner', 'order_id')).toEqual([
      'error: m.yaml: m: key.id: source key (order_id) is not in the replica identity of public.plain_partner (REPLICA IDENTITY DEFAULT, the primary key (id)): deletes and key changes would not carry it; map the key from (id) or run ALTER TABLE public.plain_partner REPLICA IDENTITY FULL (line 3)',
    ]);
    expect((await onto('public.no_pk', 'id'))[0]).toBe(
      'error: m.yaml: m: key.id: source key (id) is not in the replica identity of public.no_pk (REPLICA IDENTITY DEFAULT and no primary key): deletes and key changes would not carry it; map the key from the primary key or run ALTER TABLE public.no_pk REPLICA IDENTITY FULL (line 3)',
    );
    expect((await onto('public.ident_nothing', 'id'))[0]).toBe(
      'error: m.yaml: m: key.id: source key (id) is not in the replica identity of public.ident_nothing (REPLICA IDENTITY NOTHING): deletes and key changes would not carry it; map the key from the primary key or run ALTER TABLE public.ident_nothing REPLICA IDENTITY FULL (line 3)',
    );
    expect((await onto('public.ident_index', 'id'))[0]).toBe(
      'error: m.yaml: m: key.id: source key (id) is not in the replica identity of public.ident_index (REPLICA IDENTITY USING INDEX (code)): deletes and key changes would not carry it; map the key from (code) or run ALTER TABLE public.ident_index REPLICA IDENTITY FULL (line 3)',
    );
    // The identity index is unique: keying by it is fine.
    expect(
      await check(
        'source: public.ident_index\ntarget: chk_unique\nkey: { code: code }\ncolumns: { id: id }\n',
      ),
    ).toEqual([
      'warning: m.yaml: m: key: chk_unique also has the unique key (id), which the mapping writes: a source row with the same (id) as another row would overwrite that row (ON DUPLICATE KEY UPDATE fires on any unique key) (line 3)',
    ]);
  });

  it('soft-delete and metadata columns of unsuitable types', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          `columns: { code: name, must_set: partner_id }
onDelete: soft
softDelete: { flag: flag, at: at_date }
metadata: { lsn: lsn_int, syncedAt: synced }
`,
        ),
      ),
    ).toEqual([
      'error: m.yaml: m: softDelete.flag: flag is varchar(5): a soft-delete flag needs TINYINT(1) or another integer type (line 6)',
      'error: m.yaml: m: softDelete.at: at_date is date: a time needs DATETIME(6) or TIMESTAMP(6) (line 6)',
      'error: m.yaml: m: metadata.lsn: lsn_int is int(11): an LSN needs BIGINT UNSIGNED or VARCHAR(17) or longer (line 7)',
      'error: m.yaml: m: metadata.syncedAt: synced is varchar(30): a time needs DATETIME(6) or TIMESTAMP(6) (line 7)',
    ]);
    expect(
      await check(
        chk(
          'public.sale_order',
          'columns: { code: name, must_set: partner_id }\nmetadata: { lsn: lsn_short }\n',
        ),
      ),
    ).toEqual([
      'error: m.yaml: m: metadata.lsn: lsn_short is varchar(10): an LSN needs BIGINT UNSIGNED or VARCHAR(17) or longer (line 5)',
    ]);
  });

  it('incompatible types, and constants, mapped values and defaults that do not fit', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          `columns:
  code: name
  must_set: { from: partner_id, default: lots }
  amount: attrs
  label: { const: LONGER }
  state: { from: state, map: { sale: OPEN, done: CLOSED }, default: OPEN }
`,
        ),
      ),
    ).toEqual([
      "error: m.yaml: m: columns.must_set.default: the default 'lots' does not fit int(11): 'lots' is not a number; int(11) needs one (line 6)",
      'error: m.yaml: m: columns.amount: jsonb into int(11): jsonb cannot be stored in int(11); map it to a JSON or LONGTEXT column (or extract a field with `path:`) (line 7)',
      "error: m.yaml: m: columns.label.const: the constant 'LONGER' does not fit char(3): 'LONGER' (6 characters) is longer than char(3) (line 8)",
      "error: m.yaml: m: columns.state.map: mapped value 'CLOSED' does not fit enum('OPEN','DONE'): 'CLOSED' is not one of the labels of enum('open','done') (line 9)",
    ]);
  });

  it('a JSON path on a column that is not json, filter literals of the wrong type', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          `columns:
  code: { from: name, path: a.b }
  must_set: partner_id
filter:
  amount_total: { gt: lots }
  date_order: { in: [2024-01-01, someday] }
  state: { ne: 5 }
`,
        ),
      ),
    ).toEqual([
      'error: m.yaml: m: columns.code.path: path needs a json or jsonb column; name is varchar(64) (line 5)',
      "error: m.yaml: m: filter.amount_total.gt: 'lots' is not a number (amount_total is numeric(16,2)) (line 8)",
      "error: m.yaml: m: filter.date_order.in: 'someday' is not a timestamp like 2024-01-31T08:00:00Z (date_order is timestamptz) (line 9)",
    ]);
  });
});

describe('checkMapping warnings', () => {
  it('type risks of plain copies and derived text', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          `columns:
  code: name
  must_set: partner_id
  amount: amount_total
  note: note
  doc: { from: note, transform: [trim] }
  label: { template: "{currency}-{id}" }
  flag: { from: attrs, path: plant.code }
`,
        ),
      ),
    ).toEqual([
      'warning: m.yaml: m: columns.amount: numeric(16,2) into int(11): values with more than 0 decimals are rounded half away from zero; values outside -2147483648..2147483647 are rejected (line 7)',
      'warning: m.yaml: m: columns.note: text into varchar(10): values longer than 10 characters are rejected (line 8)',
      'warning: m.yaml: m: columns.doc: derived text into json: values are parsed as a JSON document; other values are rejected (line 9)',
      'warning: m.yaml: m: columns.label: values of up to 15 characters go into char(3): longer ones are rejected as bad rows (add transform: [{ truncate: 3 }] to cut them) (line 10)',
      'warning: m.yaml: m: columns.flag: values of unbounded length go into varchar(5): longer ones are rejected as bad rows (add transform: [{ truncate: 5 }] to cut them) (line 11)',
    ]);
  });

  it('NULLs into NOT NULL columns', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          'columns:\n  code: name\n  must_set: { from: attrs, path: qty }\n',
        ),
      ),
    ).toEqual([
      'warning: m.yaml: m: columns.must_set: the value can be NULL but chk_target.must_set is NOT NULL: such rows are rejected as bad rows (line 6)',
      'warning: m.yaml: m: columns.must_set: derived text into int(11): values are parsed as a number; other values are rejected (line 6)',
    ]);
  });

  it('another unique key of the target that the mapping writes', async () => {
    const problems = await check(
      'source: public.product_product\ntarget: chk_unique\nkey: { id: id }\ncolumns: { code: default_code }\n',
    );
    expect(problems).toEqual([
      'warning: m.yaml: m: key: chk_unique also has the unique key (code), which the mapping writes: a source row with the same (code) as another row would overwrite that row (ON DUPLICATE KEY UPDATE fires on any unique key) (line 3)',
    ]);
  });

  it('a filter on a column TOAST can leave out, without REPLICA IDENTITY FULL', async () => {
    const problems = await check(`source: public.plain_partner
target: stg_customer_contact
key: { crm_contact_id: id }
columns: { contact_name: name }
filter:
  email: { ne: x }
  any:
    - email: { eq: y }
    - is_company: { eq: true }
`);
    expect(problems).toEqual([
      'warning: m.yaml: m: filter.email: the filter reads email (varchar(254)), which PostgreSQL may store out of line (TOAST); an UPDATE that does not change it does not carry it, so the filter cannot be decided for that row; `millrace setup` sets REPLICA IDENTITY FULL on public.plain_partner (or run ALTER TABLE public.plain_partner REPLICA IDENTITY FULL) (line 6)',
      'warning: m.yaml: m: filter: the filter (on email, is_company) decides which rows exist on the target, and the mapping writes name (varchar(128)), which PostgreSQL may store out of line (TOAST): a row that enters the filter through an UPDATE that does not change it would be written without its value; `millrace setup` sets REPLICA IDENTITY FULL on public.plain_partner so the old row carries it (every UPDATE and DELETE then logs the whole old row in WAL) (line 5)',
    ]);
    // sale_order has REPLICA IDENTITY FULL (the reference production_orders filters on state).
    expect(
      await check(
        'source: public.sale_order\ntarget: stg_customer_contact\nkey: { crm_contact_id: id }\ncolumns: { contact_name: name }\nfilter: { note: { isNull: false } }\n',
      ),
    ).toEqual([]);
  });

  it('TOASTable columns written under a filter, without REPLICA IDENTITY FULL', async () => {
    const mapping = (source: string, filter: string) =>
      check(
        `source: ${source}\ntarget: stg_customer_contact\nkey: { crm_contact_id: id }\ncolumns: { contact_name: name, email: email, crm_partner_id: qty }\n${filter}`,
      );
    expect(await mapping('public.plain_partner', 'filter: { is_company: { eq: true } }\n')).toEqual(
      [
        'warning: m.yaml: m: filter: the filter (on is_company) decides which rows exist on the target, and the mapping writes name (varchar(128)), email (varchar(254)), which PostgreSQL may store out of line (TOAST): a row that enters the filter through an UPDATE that does not change them would be written without their values; `millrace setup` sets REPLICA IDENTITY FULL on public.plain_partner so the old row carries them (every UPDATE and DELETE then logs the whole old row in WAL) (line 5)',
      ],
    );
    // Without a filter, an UPDATE finds the row on the target and keeps the stored value.
    expect(await mapping('public.plain_partner', '')).toEqual([]);
    await dbs.pg.query('alter table plain_partner replica identity full');
    try {
      expect(
        await mapping('public.plain_partner', 'filter: { is_company: { eq: true } }\n'),
      ).toEqual([]);
    } finally {
      await dbs.pg.query('alter table plain_partner replica identity default');
    }
  });

  it('a source key that is not known to be unique', async () => {
    expect(await check(chk('public.full_no_pk', 'columns: { code: id, must_set: id }\n'))).toEqual([
      'warning: m.yaml: m: key: source key (id) is not known to be unique in public.full_no_pk (no primary key): two source rows could write one target row (line 3)',
    ]);
  });

  it('map keys that can never match the source type', async () => {
    expect(
      await check(
        chk(
          'public.sale_order',
          'columns:\n  code: { from: partner_id, map: { 1: one, abc: two }, default: other }\n  must_set: id\n',
        ),
      ),
    ).toEqual([
      "warning: m.yaml: m: columns.code.map: key 'abc' can never match: partner_id is integer (line 5)",
    ]);
  });
});
