import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MappingError, ValueError } from '../../src/errors/millrace-error.js';
import { compileMapping } from '../../src/mapping/compile-mapping.js';
import { compileMappings } from '../../src/mapping/compile-mappings.js';
import {
  type ChangeMeta,
  type CompiledMapping,
  type SourceRow,
  UNCHANGED,
} from '../../src/mapping/compiled-mapping.js';
import { loadMappings } from '../../src/mapping/load-mappings.js';
import {
  indexMappingsBySource,
  mappedTables,
  selectMappings,
} from '../../src/mapping/mapping-index.js';
import type { MappingSpec } from '../../src/mapping/mapping-spec.js';
import type { Schemas } from '../../src/mapping/tables.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { quoteMysqlIdent } from '../../src/mysql/mysql-client.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import {
  loadCrmFixture,
  migrateReferenceStaging,
  referenceMappingsDir,
} from '../fixtures/crm-fixture.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * The reference mappings compiled against the fixture CRM (scale 240: 48 partners, 12 products,
 * 240 orders, 720 lines) and the reference staging tables. Expected rows are worked out by hand
 * from the formulas in test/fixtures/crm-seed.sql, not by running the mapping.
 */
let dbs: TestDatabases;
let schemas: Schemas;
let mappings: ReadonlyMap<string, CompiledMapping>;
const tempDirs: string[] = [];

const meta: ChangeMeta = { lsn: 0x16b374d848n, syncedAt: new Date('2024-05-01T10:00:00.123Z') };
const lsnNumber = '97500059720';
const syncedAt = '2024-05-01 10:00:00.123000';

beforeAll(async () => {
  dbs = await createTestDatabases('compile_mapping');
  await loadCrmFixture(dbs.pg, 240);
  await migrateReferenceStaging(dbs);
  const specs = loadMappings(referenceMappingsDir);
  const tables = mappedTables(specs);
  schemas = {
    source: await introspectSource(dbs.pg, tables.source),
    target: await introspectTarget(dbs.mysql, tables.target),
  };
  mappings = new Map(compileMappings(specs, schemas).map((mapping) => [mapping.name, mapping]));
});

afterAll(async () => {
  await dbs?.drop();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const mapping = (name: string) => mappings.get(name)!;

/** A source row as millrace reads it: every mapped column in PostgreSQL's text form. */
async function sourceRow(compiled: CompiledMapping, id: number): Promise<SourceRow> {
  const columns = compiled.sourceColumns.map((column) => `"${column}"`).join(', ');
  const { rows } = await dbs.pg.query(
    `select ${columns} from ${compiled.sourceKey} where id = $1`,
    [id],
  );
  expect(rows).toHaveLength(1);
  return rows[0] as SourceRow;
}

async function allRows(compiled: CompiledMapping): Promise<SourceRow[]> {
  const columns = compiled.sourceColumns.map((column) => `"${column}"`).join(', ');
  const { rows } = await dbs.pg.query(`select ${columns} from ${compiled.sourceKey} order by id`);
  return rows as SourceRow[];
}

/** Compiles one ad-hoc mapping (YAML) against the fixture's live schemas. */
function compileYaml(yaml: string): CompiledMapping {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-compile-'));
  tempDirs.push(dir);
  writeFileSync(path.join(dir, 'adhoc.yaml'), yaml);
  const [spec] = loadMappings(dir) as MappingSpec[];
  return compileMapping(
    spec!,
    schemas.source.get(spec!.sourceKey)!,
    schemas.target.get(spec!.target)!,
  );
}

const uuidOf = (text: string) =>
  createHash('md5')
    .update(text)
    .digest('hex')
    .replace(/^(.{8})(.{4})(.{4})(.{4})(.{12})$/, '$1-$2-$3-$4-$5');

describe('compiled reference mappings: exact target rows for fixture rows', () => {
  it('customers: a company (partner 1)', async () => {
    const customers = mapping('customers');
    const row = await sourceRow(customers, 1);
    expect(customers.matches(row)).toBe(true);
    expect(customers.key(row)).toEqual([1]);
    expect(customers.project(row, meta)).toEqual({
      crm_partner_id: 1,
      customer_name: 'Company 1',
      customer_code: 'C00001',
      email: 'contact1@example.com',
      customer_type: 'COMPANY',
      country_code: 'FR',
      credit_limit: '1000.50',
      segment: 'wholesale',
      city: 'City 1',
      tags: '["crm"]',
      crm_created_at: '2023-01-01 01:00:01.234567',
      source_system: 'CRM',
      is_deleted: 0,
      deleted_at: null,
      _source_lsn: lsnNumber,
      _synced_at: syncedAt,
    });
  });

  it('customers: private customers, with NULLs, defaults, unicode and an array with NULL', async () => {
    const customers = mapping('customers');
    const twelve = await sourceRow(customers, 12);
    expect(customers.matches(twelve)).toBe(true);
    expect(customers.project(twelve, meta)).toMatchObject({
      customer_name: 'Person 12',
      customer_code: null,
      email: ' Contact.12@Example.COM ',
      customer_type: 'PERSON',
      country_code: 'IT',
      credit_limit: null,
      segment: 'standard',
      city: 'München',
      tags: '["crm","vip"]',
      crm_created_at: '2023-01-01 12:00:14.814804',
    });
    const twenty = await sourceRow(customers, 20);
    expect(customers.project(twenty, meta)).toMatchObject({
      crm_partner_id: 20,
      email: null,
      country_code: 'DE',
      segment: 'oem',
      city: 'City 20',
      tags: '["a,b","say \\"hi\\"",null]',
      crm_created_at: '2023-01-01 20:00:24.691340',
    });
  });

  it('customer_contacts: trim, lower and a template, with an emoji', async () => {
    const contacts = mapping('customer_contacts');
    const two = await sourceRow(contacts, 2);
    expect(contacts.matches(two)).toBe(true);
    expect(contacts.project(two, meta)).toEqual({
      crm_contact_id: 2,
      crm_partner_id: 1,
      contact_name: 'Person 2',
      email: 'contact.2@example.com',
      phone: '+49 30 1002',
      display_name: 'Person 2 < Contact.2@Example.COM >',
      _synced_at: syncedAt,
    });
    const seven = await sourceRow(contacts, 7);
    expect(contacts.project(seven, meta)).toMatchObject({
      crm_partner_id: 5,
      contact_name: 'Person 7 Müller 🏭',
      display_name: 'Person 7 Müller 🏭 <contact7@example.com>',
    });
    // Partner 10 has no email: the template is NULL.
    expect(contacts.project(await sourceRow(contacts, 10), meta)).toMatchObject({
      email: null,
      display_name: null,
    });
  });

  it('materials: map with default, truncate, bytea, boolean, path default then transform', async () => {
    const materials = mapping('materials');
    expect(materials.project(await sourceRow(materials, 1), meta)).toEqual({
      crm_product_id: 1,
      material_no: 'MAT-000001',
      description: 'Product 1',
      uom: 'KGM',
      base_price: '1.2345',
      weight_kg: '0.125',
      barcode: null,
      image: Buffer.alloc(0),
      is_active: 1,
      material_group: 'SEMI',
      _synced_at: syncedAt,
    });
    expect(materials.project(await sourceRow(materials, 4), meta)).toMatchObject({
      uom: 'PCE',
      base_price: '4.9380',
      weight_kg: '0.500',
      barcode: '0000000000004',
      material_group: 'MISC',
    });
    expect(materials.project(await sourceRow(materials, 5), meta)).toMatchObject({
      image: Buffer.from('e4da3b7fbbce2345d7772b0674a318d5', 'hex'),
    });
    expect(materials.project(await sourceRow(materials, 9), meta)).toMatchObject({
      description: `Long product name ${'x'.repeat(62)}`,
      weight_kg: null,
      material_group: 'RAW',
    });
    expect(materials.project(await sourceRow(materials, 11), meta)).toMatchObject({ is_active: 0 });
    expect(materials.matches(await sourceRow(materials, 11))).toBe(true);
  });

  it('production_orders: state map, template, JSON paths, uuid, LSN in X/Y spelling', async () => {
    const orders = mapping('production_orders');
    const three = await sourceRow(orders, 3);
    expect(orders.matches(three)).toBe(true);
    expect(orders.project(three, meta)).toEqual({
      crm_order_id: 3,
      order_ref: 'SO000003',
      customer_id: 22,
      state: 'COMPLETED',
      ordered_at: '2024-01-01 08:51:01.500000',
      due_at: null,
      amount_total: '9.51',
      currency: 'EUR',
      priority: 'high',
      plant_code: 'P01',
      title: 'RUSH ORDER 3',
      label: 'SO000003/22',
      access_token: uuidOf('order3'),
      source_system: 'CRM',
      _source_lsn: '16/B374D848',
      _synced_at: syncedAt,
    });
    expect(orders.project(await sourceRow(orders, 1), meta)).toMatchObject({
      state: 'PLANNED',
      customer_id: 8,
      due_at: '2024-01-15 08:17:00.500000',
      priority: 'normal',
      plant_code: 'P02',
    });
    expect(orders.project(await sourceRow(orders, 8), meta)).toMatchObject({
      state: 'COMPLETED',
      currency: 'USD',
      title: null,
      priority: 'low',
      plant_code: 'P03',
    });
    // Draft (5) and cancelled (4) orders are not production orders.
    expect(orders.matches(await sourceRow(orders, 5))).toBe(false);
    expect(orders.matches(await sourceRow(orders, 4))).toBe(false);
  });

  it('production_order_lines: copy with default, double, numeric scales, LSN as a number', async () => {
    const lines = mapping('production_order_lines');
    expect(lines.project(await sourceRow(lines, 7), meta)).toEqual({
      crm_line_id: 7,
      crm_order_id: 3,
      material_id: 4,
      position: 10,
      description: 'Line 1 of SO000003',
      quantity: '1.500',
      unit_price: '4.9600',
      discount_pct: '3.00',
      uom: 'Units',
      lead_days: 1.5,
      _source_lsn: lsnNumber,
      _synced_at: syncedAt,
    });
    expect(lines.project(await sourceRow(lines, 8), meta)).toMatchObject({
      material_id: 7,
      position: 20,
      quantity: '3.000',
      unit_price: '5.9500',
      discount_pct: '0.00',
      uom: 'kg',
      lead_days: 3,
    });
    // Line 30 is the down payment of order 10.
    expect(lines.matches(await sourceRow(lines, 30))).toBe(false);
    expect(lines.matches(await sourceRow(lines, 29))).toBe(true);
  });

  it('every fixture row projects to values MariaDB accepts, and reads back as projected', async () => {
    for (const compiled of mappings.values()) {
      let written = 0;
      for (const row of await allRows(compiled)) {
        if (compiled.matches(row) !== true) continue;
        const target = compiled.project(row, meta);
        const columns = Object.keys(target);
        await dbs.mysql.query(
          `insert into ${quoteMysqlIdent(compiled.target)} (${columns.map(quoteMysqlIdent).join(', ')}) values (?)`,
          [columns.map((column) => target[column])],
        );
        written++;
      }
      const [counted] = await dbs.mysql.query(
        `select count(*) as n from ${quoteMysqlIdent(compiled.target)}`,
      );
      expect(Number((counted as { n: string }[])[0]!.n), compiled.name).toBe(written);
      expect(written, compiled.name).toBeGreaterThan(0);
    }
    const [rows] = await dbs.mysql.query(
      'select title, label, access_token, amount_total, ordered_at, _source_lsn from stg_production_order where crm_order_id = 3',
    );
    expect(rows).toEqual([
      {
        title: 'RUSH ORDER 3',
        label: 'SO000003/22',
        access_token: uuidOf('order3'),
        amount_total: '9.51',
        ordered_at: '2024-01-01 08:51:01.500000',
        _source_lsn: '16/B374D848',
      },
    ]);
  });
});

describe('fan-out', () => {
  it('routes res_partner to both of its mappings, and each partner lands in exactly one', async () => {
    const index = indexMappingsBySource([...mappings.values()]);
    const partners = index.get('public.res_partner')!;
    expect(partners.map((compiled) => compiled.name)).toEqual(['customers', 'customer_contacts']);
    expect(Object.isFrozen(partners)).toBe(true);
    expect(index.get('public.sale_order')!.map((compiled) => compiled.name)).toEqual([
      'production_orders',
    ]);
    const { rows } = await dbs.pg.query('select * from res_partner order by id');
    expect(rows).toHaveLength(48);
    for (const row of rows as SourceRow[]) {
      const matched = partners.filter((compiled) => compiled.matches(row));
      expect(matched, `partner ${String(row.id)}`).toHaveLength(1);
    }
  });

  it('selects mappings by name, source table or target table (--table)', () => {
    const all = [...mappings.values()];
    const names = (selected: readonly CompiledMapping[]) =>
      selected.map((compiled) => compiled.name);
    expect(names(selectMappings(all, ['res_partner']))).toEqual(['customers', 'customer_contacts']);
    expect(names(selectMappings(all, ['public.sale_order', 'stg_material']))).toEqual([
      'materials',
      'production_orders',
    ]);
    expect(names(selectMappings(all, []))).toHaveLength(5);
    expect(() => selectMappings(all, ['nope'])).toThrow('--table nope matches no mapping');
  });
});

describe('UNCHANGED (TOASTed) columns', () => {
  it('leaves out exactly the target columns computed from an absent column', async () => {
    const orders = mapping('production_orders');
    const row = { ...(await sourceRow(orders, 3)), note: UNCHANGED, attrs: UNCHANGED } as SourceRow;
    const projected = orders.project(row, meta);
    expect(Object.keys(projected)).not.toContain('title');
    expect(Object.keys(projected)).not.toContain('priority');
    expect(Object.keys(projected)).not.toContain('plant_code');
    expect(projected).toMatchObject({
      label: 'SO000003/22',
      state: 'COMPLETED',
      source_system: 'CRM',
    });
    // A template column is left out when any of its placeholders is absent.
    const contacts = mapping('customer_contacts');
    const contact = { ...(await sourceRow(contacts, 2)), email: UNCHANGED } as SourceRow;
    expect(Object.keys(contacts.project(contact, meta)).sort()).toEqual([
      '_synced_at',
      'contact_name',
      'crm_contact_id',
      'crm_partner_id',
      'phone',
    ]);
    // A column missing from the row altogether is treated the same.
    const { note: _note, ...withoutNote } = await sourceRow(orders, 3);
    expect(Object.keys(orders.project(withoutNote, meta))).not.toContain('title');
  });

  it('makes the filter undecidable only when the answer depends on the absent column', async () => {
    const orders = mapping('production_orders');
    const row = await sourceRow(orders, 3);
    expect(orders.matches({ ...row, state: UNCHANGED })).toBeUndefined();
    // `all` is false as soon as one part is false.
    expect(orders.matches({ ...row, state: UNCHANGED, amount_total: '-1.00' })).toBe(false);
    const customers = mapping('customers');
    const company = await sourceRow(customers, 1);
    // `any` is true as soon as one part is true.
    expect(customers.matches({ ...company, parent_id: UNCHANGED })).toBe(true);
    const person = await sourceRow(customers, 2);
    expect(customers.matches({ ...person, parent_id: UNCHANGED })).toBeUndefined();
  });

  it('refuses a row whose key column is absent', async () => {
    const orders = mapping('production_orders');
    const row = { ...(await sourceRow(orders, 3)), id: UNCHANGED } as SourceRow;
    expect(() => orders.key(row)).toThrow(ValueError);
    expect(() => orders.project(row, meta)).toThrow('key column id is missing from the row');
  });
});

describe('soft delete and metadata', () => {
  it('sets the flag, the deletion time and the metadata columns', () => {
    const customers = mapping('customers');
    expect(customers.onDelete).toBe('soft');
    expect(customers.softDelete).toEqual({ flag: 'is_deleted', at: 'deleted_at' });
    expect(customers.metadata).toEqual({ lsn: '_source_lsn', syncedAt: '_synced_at' });
    expect(customers.softDeleteRow(meta)).toEqual({
      is_deleted: 1,
      deleted_at: syncedAt,
      _source_lsn: lsnNumber,
      _synced_at: syncedAt,
    });
    const backfill: ChangeMeta = { lsn: 0n, syncedAt: new Date('2024-12-31T23:59:59.999Z') };
    expect(customers.softDeleteRow(backfill)).toEqual({
      is_deleted: 1,
      deleted_at: '2024-12-31 23:59:59.999000',
      _source_lsn: '0',
      _synced_at: '2024-12-31 23:59:59.999000',
    });
    expect(
      mapping('production_orders').project(
        {
          id: '1',
          name: 'x',
          partner_id: '1',
          state: 'sale',
          date_order: '2024-01-01 00:00:00+00',
          commitment_date: null,
          amount_total: '1',
          currency: 'EUR',
          attrs: '{}',
          note: null,
          access_token: null,
        },
        backfill,
      ),
    ).toMatchObject({ _source_lsn: '0/0' });
  });

  it('describes itself: keys, columns, policies, frozen', () => {
    const orders = mapping('production_orders');
    expect(orders.file).toBe(path.join(referenceMappingsDir, 'production-orders.yaml'));
    expect(orders.source).toEqual({ schema: 'public', table: 'sale_order' });
    expect(orders.sourceKey).toBe('public.sale_order');
    expect(orders.target).toBe('stg_production_order');
    expect(orders.keyColumns).toEqual(['crm_order_id']);
    expect(orders.sourceKeyColumns).toEqual(['id']);
    expect([...orders.sourceColumns].sort()).toEqual(
      [
        'access_token',
        'amount_total',
        'attrs',
        'commitment_date',
        'currency',
        'date_order',
        'id',
        'name',
        'note',
        'partner_id',
        'state',
      ].sort(),
    );
    expect(orders.targetColumns).toEqual([
      'crm_order_id',
      'order_ref',
      'customer_id',
      'state',
      'ordered_at',
      'due_at',
      'amount_total',
      'currency',
      'priority',
      'plant_code',
      'title',
      'label',
      'access_token',
      'source_system',
      '_source_lsn',
      '_synced_at',
    ]);
    expect(orders.softDelete).toBeUndefined();
    expect(Object.isFrozen(orders)).toBe(true);
    expect(() => orders.softDeleteRow(meta)).toThrow('softDeleteRow needs onDelete: soft');
  });
});

describe('filter semantics', () => {
  const orderMapping = (filter: string) =>
    compileYaml(`source: public.sale_order
target: stg_production_order
key: { crm_order_id: id }
filter:
${filter}
`);
  const row = (values: Record<string, string | null>): SourceRow => values;

  it('compares numbers by value, whatever their spelling', () => {
    const gte = orderMapping('  amount_total: { gte: 10.5 }');
    expect(gte.matches(row({ amount_total: '10.50' }))).toBe(true);
    expect(gte.matches(row({ amount_total: '9.99' }))).toBe(false);
    expect(gte.matches(row({ amount_total: '100.00' }))).toBe(true);
    const eq = orderMapping('  amount_total: { eq: 1 }');
    expect(eq.matches(row({ amount_total: '1.00' }))).toBe(true);
    const among = orderMapping('  id: { in: [1, 2, 30] }');
    expect([1, 2, 3, 30, 300].map((id) => among.matches(row({ id: String(id) })))).toEqual([
      true,
      true,
      false,
      true,
      false,
    ]);
    const range = orderMapping('  id: { gt: 9, lt: 11 }');
    expect([9, 10, 11].map((id) => range.matches(row({ id: String(id) })))).toEqual([
      false,
      true,
      false,
    ]);
    const lte = orderMapping('  amount_total: { lte: -0.5 }');
    expect(lte.matches(row({ amount_total: '-1.00' }))).toBe(true);
    expect(lte.matches(row({ amount_total: '-0.10' }))).toBe(false);
  });

  it('compares timestamps as instants and text by code point', () => {
    const after = orderMapping('  date_order: { gt: "2024-01-01T09:00:00+01:00" }');
    expect(after.matches(row({ date_order: '2024-01-01 08:00:00.000001+00' }))).toBe(true);
    expect(after.matches(row({ date_order: '2024-01-01 08:00:00+00' }))).toBe(false);
    const named = orderMapping('  name: { gte: SO000100 }');
    expect(named.matches(row({ name: 'SO000099' }))).toBe(false);
    expect(named.matches(row({ name: 'SO000100' }))).toBe(true);
  });

  it('NULL: not equal to anything; only isNull tests for it', () => {
    const check = (condition: string) =>
      orderMapping(`  note: { ${condition} }`).matches(row({ note: null }));
    expect(check('eq: x')).toBe(false);
    expect(check('ne: x')).toBe(true);
    expect(check('in: [x]')).toBe(false);
    expect(check('notIn: [x]')).toBe(true);
    expect(check('gt: a')).toBe(false);
    expect(check('lte: z')).toBe(false);
    expect(check('isNull: true')).toBe(true);
    expect(check('isNull: false')).toBe(false);
  });

  it('nests all and any', () => {
    const nested = orderMapping(`  currency: { eq: EUR }
  any:
    - state: { in: [sale, done] }
    - all:
        - state: { eq: sent }
        - amount_total: { gt: 100 }`);
    const test = (currency: string, state: string, amount: string) =>
      nested.matches(row({ currency, state, amount_total: amount }));
    expect(test('EUR', 'sale', '1')).toBe(true);
    expect(test('EUR', 'sent', '101')).toBe(true);
    expect(test('EUR', 'sent', '99')).toBe(false);
    expect(test('USD', 'sale', '1')).toBe(false);
    expect(test('EUR', 'draft', '1000')).toBe(false);
  });

  it('reads booleans in YAML spelling against PostgreSQL t/f', () => {
    const lines = compileYaml(`source: public.sale_order_line
target: stg_production_order_line
key: { crm_line_id: id }
filter:
  is_downpayment: { eq: false }
`);
    expect(lines.matches(row({ is_downpayment: 'f' }))).toBe(true);
    expect(lines.matches(row({ is_downpayment: 't' }))).toBe(false);
  });
});

describe('values the compiler refuses', () => {
  it('a value not in a map without default is a bad row (ValueError), not a silent NULL', () => {
    const strict = compileYaml(`source: public.sale_order
target: stg_production_order
key: { crm_order_id: id }
columns:
  state: { from: state, map: { sale: RELEASED } }
`);
    expect(strict.project({ id: '1', state: 'sale' }, meta)).toMatchObject({ state: 'RELEASED' });
    expect(strict.project({ id: '1', state: null }, meta)).toMatchObject({ state: null });
    let error: unknown;
    try {
      strict.project({ id: '1', state: 'draft' }, meta);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ValueError);
    expect((error as ValueError).code).toBe('VALUE_UNMAPPED');
    expect((error as ValueError).message).toBe(
      "adhoc: state: value 'draft' is not in the map and there is no default",
    );
  });

  it('a value too long for its column is a bad row; only truncate cuts', () => {
    const orders = mapping('production_orders');
    const long = {
      id: '1',
      name: 'x'.repeat(65),
      partner_id: '1',
      state: 'sale',
      date_order: '2024-01-01 00:00:00+00',
    } as SourceRow;
    expect(() => orders.project(long, meta)).toThrow(ValueError);
    const title = orders.project({ id: '1', note: `  ${'é'.repeat(200)} ` }, meta).title as string;
    expect(title).toBe('É'.repeat(120));
  });

  it('truncate counts characters, never splitting an emoji', () => {
    const cut = compileYaml(`source: public.sale_order
target: stg_production_order
key: { crm_order_id: id }
columns:
  plant_code: { from: note, transform: [{ truncate: 3 }] }
`);
    expect(cut.project({ id: '1', note: 'a😀b😀c' }, meta).plant_code).toBe('a😀b');
  });

  it('invalid JSON in a json column is a bad row', () => {
    const orders = mapping('production_orders');
    expect(() => orders.project({ id: '1', attrs: '{"priority": ' }, meta)).toThrow(
      'attrs is not valid JSON',
    );
  });

  it('a reference that does not resolve throws MappingError naming file, mapping and field', () => {
    expect(() =>
      compileYaml(`source: public.sale_order
target: stg_production_order
key: { crm_order_id: id }
columns:
  label: { template: "{name}-{nope}" }
`),
    ).toThrow(
      /adhoc\.yaml: adhoc: columns\.label\.template: source column nope does not exist in public\.sale_order \(line 5\)$/,
    );
    expect(() =>
      compileYaml(`source: public.sale_order
target: stg_production_order
key: { crm_order_id: id }
filter:
  amount_total: { gt: lots }
`),
    ).toThrow(MappingError);
  });
});

describe('compileMappings', () => {
  it('refuses mappings that mappings check would refuse, with one line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-compile-'));
    tempDirs.push(dir);
    writeFileSync(
      path.join(dir, 'bad.yaml'),
      'source: public.sale_order\ntarget: stg_production_order\nkey: { order_ref: name }\n',
    );
    const specs = loadMappings(dir);
    expect(() => compileMappings(specs, schemas)).toThrow(
      `${dir}/bad.yaml: bad: key: (order_ref) is not the primary key or a unique key of stg_production_order (it has primary key (crm_order_id)); upserts need the key to be unique (line 3)`,
    );
  });

  it('passes warnings to onWarning and compiles', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'millrace-compile-'));
    tempDirs.push(dir);
    writeFileSync(
      path.join(dir, 'warn.yaml'),
      'source: public.sale_order\ntarget: stg_customer_contact\nkey: { crm_contact_id: id }\ncolumns: { contact_name: name, phone: note }\n',
    );
    const warnings: string[] = [];
    const compiled = compileMappings(loadMappings(dir), schemas, {
      onWarning: (problem) => warnings.push(problem.code),
    });
    expect(compiled.map((one) => one.name)).toEqual(['warn']);
    expect(warnings).toEqual(['TYPE_WARNING']);
  });
});
