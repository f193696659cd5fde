import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ExitCode, MappingError } from '../../src/errors/millrace-error.js';
import { loadMappings, readMappings } from '../../src/mapping/load-mappings.js';
import { formatProblem } from '../../src/mapping/mapping-problem.js';
import type { MappingSpec } from '../../src/mapping/mapping-spec.js';
import { referenceMappingsDir } from '../fixtures/crm-fixture.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A mappings directory holding `files`; messages name files as `<dir>/<file>`. */
function mappingsDir(files: Readonly<Record<string, string>>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-load-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/** Problems as printed, with the temporary directory shortened to `mappings/`. */
function problemsOf(files: Readonly<Record<string, string>>): string[] {
  const dir = mappingsDir(files);
  return readMappings(dir).problems.map((problem) =>
    formatProblem(problem).replaceAll(`${dir}/`, 'mappings/'),
  );
}

const base = `source: public.sale_order
target: stg_production_order
key:
  crm_order_id: id
`;

describe('readMappings: the reference mappings', () => {
  const loaded = readMappings(referenceMappingsDir);
  const byName = new Map(loaded.specs.map((spec) => [spec.name, spec]));

  it('loads every reference mapping without a problem', () => {
    expect(loaded.problems.map(formatProblem)).toEqual([]);
    expect([...byName.keys()].sort()).toEqual([
      'customer_contacts',
      'customers',
      'materials',
      'production_order_lines',
      'production_orders',
      'work_orders',
    ]);
  });

  it('names a mapping after its file when it has no name, and reads lists of mappings', () => {
    expect(byName.get('materials')!.file).toBe(path.join(referenceMappingsDir, 'materials.yaml'));
    expect(byName.get('customers')!.file).toBe(path.join(referenceMappingsDir, 'partners.yaml'));
    expect(byName.get('customer_contacts')!.file).toBe(
      path.join(referenceMappingsDir, 'partners.yaml'),
    );
  });

  it('uses every rule at least once', () => {
    const specs = [...byName.values()];
    const rules = specs.flatMap((spec) => spec.columns.map((column) => column.rule));
    expect(rules.some((rule) => rule.kind === 'copy' && rule.default === undefined)).toBe(true);
    expect(rules.some((rule) => rule.kind === 'copy' && rule.default !== undefined)).toBe(true);
    expect(
      rules.some((rule) => rule.kind === 'derive' && rule.map && rule.default !== undefined),
    ).toBe(true);
    expect(
      rules.some((rule) => rule.kind === 'derive' && rule.path && rule.default !== undefined),
    ).toBe(true);
    expect(rules.some((rule) => rule.kind === 'template')).toBe(true);
    expect(rules.some((rule) => rule.kind === 'const')).toBe(true);
    const transforms = new Set(
      rules.flatMap((rule) =>
        rule.kind === 'derive' || rule.kind === 'template' ? rule.transform.map((t) => t.kind) : [],
      ),
    );
    expect([...transforms].sort()).toEqual(['lower', 'trim', 'truncate', 'upper']);
    const operators = new Set<string>();
    const groups = new Set<string>();
    const walk = (filter: MappingSpec['filter']) => {
      if (!filter) return;
      if (filter.kind === 'condition') operators.add(filter.op);
      else {
        groups.add(filter.kind);
        filter.items.forEach(walk);
      }
    };
    for (const spec of specs) walk(spec.filter);
    expect([...operators].sort()).toEqual([
      'eq',
      'gt',
      'gte',
      'in',
      'isNull',
      'lt',
      'lte',
      'ne',
      'notIn',
    ]);
    expect([...groups].sort()).toEqual(['all', 'any']);
    expect(new Set(specs.map((spec) => spec.onDelete))).toEqual(
      new Set(['delete', 'soft', 'ignore']),
    );
    expect(byName.get('customers')!.softDelete).toEqual({ flag: 'is_deleted', at: 'deleted_at' });
    expect(byName.get('production_orders')!.metadata).toEqual({
      lsn: '_source_lsn',
      syncedAt: '_synced_at',
    });
    // Fan-out: one source table, two mappings.
    expect(
      specs.filter((spec) => spec.sourceKey === 'public.res_partner').map((spec) => spec.name),
    ).toEqual(['customers', 'customer_contacts']);
  });

  it('normalises rules: map, path, template, transforms, filter tree', () => {
    const orders = byName.get('production_orders')!;
    const rule = (name: string) => orders.columns.find((column) => column.target === name)!.rule;
    expect(rule('order_ref')).toEqual({ kind: 'copy', from: 'name' });
    expect(rule('state')).toEqual({
      kind: 'derive',
      from: 'state',
      map: new Map([
        ['sale', 'RELEASED'],
        ['done', 'COMPLETED'],
      ]),
      default: 'PLANNED',
      transform: [],
    });
    expect(rule('priority')).toEqual({
      kind: 'derive',
      from: 'attrs',
      path: ['priority'],
      default: 'normal',
      transform: [{ kind: 'lower' }, { kind: 'truncate', length: 16 }],
    });
    expect(rule('label')).toEqual({
      kind: 'template',
      parts: [
        { kind: 'column', column: 'name' },
        { kind: 'text', text: '/' },
        { kind: 'column', column: 'partner_id' },
      ],
      transform: [],
    });
    expect(rule('source_system')).toEqual({ kind: 'const', value: 'CRM' });
    expect(orders.filter).toEqual({
      kind: 'all',
      field: 'filter',
      items: [
        {
          kind: 'condition',
          column: 'state',
          op: 'notIn',
          value: ['draft', 'cancel'],
          field: 'filter.state.notIn',
        },
        {
          kind: 'condition',
          column: 'amount_total',
          op: 'gte',
          value: '0',
          field: 'filter.amount_total.gte',
        },
        {
          kind: 'condition',
          column: 'date_order',
          op: 'gt',
          value: '2000-01-01',
          field: 'filter.date_order.gt',
        },
      ],
    });
    expect(Object.isFrozen(orders)).toBe(true);
  });
});

describe('readMappings: values', () => {
  it('keeps every digit of integer constants and map values, and reads null as NULL', () => {
    const dir = mappingsDir({
      'orders.yaml': `${base}columns:
  big: { const: 12345678901234567890 }
  ratio: { const: 1.5 }
  flag: { const: true }
  nothing: { const: ~ }
  state: { from: state, map: { 1: one, sale: ~ }, default: 007 }
`,
    });
    const [spec] = readMappings(dir).specs;
    const rules = Object.fromEntries(spec!.columns.map((column) => [column.target, column.rule]));
    expect(rules.big).toEqual({ kind: 'const', value: '12345678901234567890' });
    expect(rules.ratio).toEqual({ kind: 'const', value: '1.5' });
    expect(rules.flag).toEqual({ kind: 'const', value: 'true' });
    expect(rules.nothing).toEqual({ kind: 'const', value: null });
    expect(rules.state).toMatchObject({
      map: new Map([
        ['1', 'one'],
        ['sale', null],
      ]),
      default: '7',
    });
  });

  it('reads a template with literal braces', () => {
    const dir = mappingsDir({
      'orders.yaml': `${base}columns:\n  label: { template: "{{{name}}}-{id}" }\n`,
    });
    expect(readMappings(dir).specs[0]!.columns[0]!.rule).toEqual({
      kind: 'template',
      parts: [
        { kind: 'text', text: '{' },
        { kind: 'column', column: 'name' },
        { kind: 'text', text: '}-' },
        { kind: 'column', column: 'id' },
      ],
      transform: [],
    });
  });

  it('reads several documents in one file', () => {
    const dir = mappingsDir({
      'two.yaml': `name: a\n${base}---\nname: b\n${base.replace('stg_production_order', 'stg_other')}`,
    });
    expect(readMappings(dir).specs.map((spec) => spec.name)).toEqual(['a', 'b']);
  });
});

describe('readMappings: every loader error names file, mapping and field', () => {
  it('YAML syntax errors, with line and column', () => {
    expect(problemsOf({ 'orders.yaml': `${base}columns:\n  a: b\n   c: d\n` })).toEqual([
      'mappings/orders.yaml: line 6, column 6: YAML: Nested mappings are not allowed in compact mappings',
      'mappings/orders.yaml: line 6, column 6: YAML: Implicit keys need to be on a single line',
    ]);
    expect(problemsOf({ 'orders.yaml': `${base}  crm_order_id: name\n` })).toEqual([
      'mappings/orders.yaml: line 5, column 3: YAML: Map keys must be unique',
    ]);
  });

  it('an empty file', () => {
    expect(problemsOf({ 'empty.yaml': '# nothing yet\n' })).toEqual([
      'mappings/empty.yaml: the file holds no mapping',
    ]);
  });

  it('a wrong type, in the example', () => {
    expect(
      problemsOf({
        'orders.yaml': `name: production_orders\n${base}columns:\n  state:\n    from: state\n    map: sale\n`,
      }),
    ).toEqual([
      'mappings/orders.yaml: production_orders: columns.state.map: expected an object (line 9)',
    ]);
  });

  it('unknown keys, with a suggestion', () => {
    expect(
      problemsOf({
        'orders.yaml': `${base}colums:\n  a: b\nfilter:\n  state: { notin: [draft] }\nonDelete: delete\nsoftDelete: { flag: f, when: x }\n`,
      }),
    ).toEqual([
      'mappings/orders.yaml: orders: colums: unknown key (did you mean columns?) (line 5)',
      'mappings/orders.yaml: orders: filter.state.notin: unknown key (did you mean notIn?) (line 8)',
      'mappings/orders.yaml: orders: softDelete.when: unknown key (expected one of flag, at) (line 10)',
    ]);
  });

  it('missing and malformed required fields', () => {
    expect(problemsOf({ 'orders.yaml': 'source: sale_order\ntarget: stg.x\nkey: {}\n' })).toEqual([
      'mappings/orders.yaml: orders: source: expected schema.table, like public.sale_order (line 1)',
      'mappings/orders.yaml: orders: target: expected a target table name (no schema, at most 64 characters) (line 2)',
      'mappings/orders.yaml: orders: key: expected at least one key column, like { crm_order_id: id } (line 3)',
    ]);
    expect(problemsOf({ 'orders.yaml': 'target: x\n' })).toEqual([
      'mappings/orders.yaml: orders: source: expected schema.table, like public.sale_order (line 1)',
      'mappings/orders.yaml: orders: key: expected an object of target column: source column (line 1)',
    ]);
    expect(problemsOf({ 'orders.yaml': '- just a string\n' })).toEqual([
      'mappings/orders.yaml: orders: expected an object (line 1)',
    ]);
  });

  it('rules: one source, valid combinations', () => {
    expect(
      problemsOf({
        'orders.yaml': `${base}columns:
  a: 5
  b: { map: { x: y } }
  c: { from: x, const: 1 }
  d: { const: 1, transform: [trim] }
  e: { template: "{x}", path: a.b }
  f: { from: x, map: {} }
  g: { from: x, path: "a..b" }
`,
      }),
    ).toEqual([
      'mappings/orders.yaml: orders: columns.a: expected a source column name or a rule like { from: …, map: … } (line 6)',
      'mappings/orders.yaml: orders: columns.b: a rule needs one of from, template or const (line 7)',
      'mappings/orders.yaml: orders: columns.c: a rule takes only one of from, template or const (got from and const) (line 8)',
      'mappings/orders.yaml: orders: columns.d.transform: const takes no other keys (line 9)',
      'mappings/orders.yaml: orders: columns.e.path: path needs from, not template (line 10)',
      'mappings/orders.yaml: orders: columns.f.map: expected at least one entry, like { sale: RELEASED } (line 11)',
      'mappings/orders.yaml: orders: columns.g.path: expected a dotted JSON path like address.city (line 12)',
    ]);
  });

  it('transforms: unknown ones, and truncate without a positive length', () => {
    expect(
      problemsOf({
        'orders.yaml': `${base}columns:
  title: { from: note, transform: [trim, uper, truncate, { truncate: 0 }, { truncate: -3 }, { truncate: 2.5 }, { truncate: x }] }
  other: { from: note, transform: trim }
`,
      }),
    ).toEqual([
      "mappings/orders.yaml: orders: columns.title.transform[1]: unknown transform 'uper' (expected trim, upper, lower or { truncate: N }) (line 6)",
      'mappings/orders.yaml: orders: columns.title.transform[2]: truncate needs a positive length, like { truncate: 40 } (line 6)',
      'mappings/orders.yaml: orders: columns.title.transform[3].truncate: truncate needs a positive length, like { truncate: 40 } (line 6)',
      'mappings/orders.yaml: orders: columns.title.transform[4].truncate: truncate needs a positive length, like { truncate: 40 } (line 6)',
      'mappings/orders.yaml: orders: columns.title.transform[5].truncate: truncate needs a positive length, like { truncate: 40 } (line 6)',
      'mappings/orders.yaml: orders: columns.title.transform[6].truncate: truncate needs a positive length, like { truncate: 40 } (line 6)',
      'mappings/orders.yaml: orders: columns.other.transform: expected a list, like [trim, upper] (line 7)',
    ]);
  });

  it('templates: unclosed, empty and stray braces', () => {
    expect(
      problemsOf({
        'orders.yaml': `${base}columns:\n  a: { template: "{name" }\n  b: { template: "x{}" }\n  c: { template: "a}b" }\n  d: { template: "{ name }" }\n`,
      }),
    ).toEqual([
      'mappings/orders.yaml: orders: columns.a.template: unclosed placeholder at position 1 (write {{ for a literal brace) (line 6)',
      'mappings/orders.yaml: orders: columns.b.template: placeholder {} must name a source column, like {name} (line 7)',
      'mappings/orders.yaml: orders: columns.c.template: unmatched } at position 2 (write }} for a literal brace) (line 8)',
      'mappings/orders.yaml: orders: columns.d.template: placeholder { name } must name a source column, like {name} (line 9)',
    ]);
  });

  it('filters: operators, values and groups', () => {
    expect(
      problemsOf({
        'orders.yaml': `${base}filter:
  state: { eq: ~ }
  amount: { in: [] }
  note: { isNull: yes }
  date: { gt: [1] }
  code: {}
  all: []
  any: [ { x: { like: a } }, 5 ]
`,
      }),
    ).toEqual([
      'mappings/orders.yaml: orders: filter.state.eq: expected a single value (text, number or true/false; use isNull for NULL) (line 6)',
      'mappings/orders.yaml: orders: filter.amount.in: expected at least one value (line 7)',
      'mappings/orders.yaml: orders: filter.note.isNull: expected true or false (line 8)',
      'mappings/orders.yaml: orders: filter.date.gt: expected a number or text to compare with (line 9)',
      'mappings/orders.yaml: orders: filter.code: expected an operator: eq, ne, in, notIn, gt, gte, lt, lte or isNull (line 10)',
      'mappings/orders.yaml: orders: filter.all: expected at least one filter (line 11)',
      'mappings/orders.yaml: orders: filter.any[0].x.like: unknown key (expected one of eq, ne, in, notIn, gt, gte, lt, lte, isNull) (line 12)',
      'mappings/orders.yaml: orders: filter.any[1]: expected an object of column: { operator: value }, all: […] or any: […] (line 12)',
    ]);
    expect(problemsOf({ 'orders.yaml': `${base}filter: {}\n` })).toEqual([
      'mappings/orders.yaml: orders: filter: expected at least one condition (line 5)',
    ]);
  });

  it('onDelete, softDelete and metadata', () => {
    expect(problemsOf({ 'a.yaml': `${base}onDelete: remove\n` })).toEqual([
      'mappings/a.yaml: a: onDelete: expected delete, soft or ignore (line 5)',
    ]);
    expect(problemsOf({ 'a.yaml': `${base}softDelete: { flag: is_deleted }\n` })).toEqual([
      'mappings/a.yaml: a: softDelete: softDelete needs onDelete: soft (onDelete is delete) (line 5)',
    ]);
    expect(
      problemsOf({ 'a.yaml': `${base}onDelete: ignore\nsoftDelete: { flag: is_deleted }\n` }),
    ).toEqual([
      'mappings/a.yaml: a: softDelete: softDelete needs onDelete: soft (onDelete is ignore) (line 6)',
    ]);
    expect(problemsOf({ 'a.yaml': `${base}onDelete: soft\n` })).toEqual([
      'mappings/a.yaml: a: onDelete: onDelete: soft needs softDelete: { flag: <column>, at: <column> } (line 5)',
    ]);
    expect(problemsOf({ 'a.yaml': `${base}metadata: {}\n` })).toEqual([
      'mappings/a.yaml: a: metadata: expected lsn and/or syncedAt (line 5)',
    ]);
  });

  it('a target column written twice (MySQL column names ignore case)', () => {
    expect(
      problemsOf({
        'a.yaml': `${base}columns:\n  CRM_ORDER_ID: id\n  note: note\nonDelete: soft\nsoftDelete: { flag: note, at: flag_at }\nmetadata: { lsn: flag_at, syncedAt: synced }\n`,
      }),
    ).toEqual([
      'mappings/a.yaml: a: columns.CRM_ORDER_ID: target column CRM_ORDER_ID is already written by key.crm_order_id (line 6)',
      'mappings/a.yaml: a: softDelete.flag: target column note is already written by columns.note (line 9)',
      'mappings/a.yaml: a: metadata.lsn: target column flag_at is already written by softDelete.at (line 10)',
    ]);
  });

  it('names: required in a list of several, valid when taken from the file name, unique', () => {
    expect(
      problemsOf({
        'orders.yaml': `- ${base.replace(/\n(?=.)/g, '\n  ')}- name: b\n  ${base.replace(/\n(?=.)/g, '\n  ')}`,
      }),
    ).toEqual([
      'mappings/orders.yaml: orders[0]: name: a mapping in a list of several needs a name (line 1)',
    ]);
    expect(problemsOf({ 'sale orders.yaml': base })).toEqual([
      "mappings/sale orders.yaml: sale orders: name: the file name does not make a valid mapping name ('sale orders'): set name (line 1)",
    ]);
    expect(
      problemsOf({ 'a.yaml': `name: orders\n${base}`, 'b.yaml': `name: orders\n${base}` }),
    ).toEqual([
      'mappings/b.yaml: orders: name: duplicate mapping name (also in mappings/a.yaml); names must be unique (line 1)',
    ]);
  });

  it('two mappings writing one target table with different keys', () => {
    expect(
      problemsOf({
        'a.yaml': base,
        'b.yaml':
          'source: public.sale_order\ntarget: stg_production_order\nkey: { order_ref: name }\n',
      }),
    ).toEqual([
      'mappings/b.yaml: b: key: target table stg_production_order is also written by mapping a (mappings/a.yaml) with key (crm_order_id); mappings writing one table must use the same key, not (order_ref) (line 3)',
    ]);
    // The same key from another source table is fine (several sources, one target), with an
    // owner column.
    const owned = (value: string) => `columns: { source_system: { const: ${value} } }\n`;
    expect(
      problemsOf({
        'a.yaml': base + owned('CRM'),
        'b.yaml': base.replace('sale_order', 'legacy_order') + owned('LEGACY'),
      }),
    ).toEqual([]);
  });

  it('several mappings into one table: one source twice, or several sources without an owner', () => {
    const filtered = (region: string) =>
      `${base}columns: { source_system: { const: ${region} } }\nfilter: { region: { eq: ${region} } }\n`;
    expect(problemsOf({ 'eu.yaml': filtered('EU'), 'us.yaml': filtered('US') })).toEqual([
      "mappings/us.yaml: us: target: mapping eu (mappings/eu.yaml) also maps public.sale_order into stg_production_order: two mappings of one source table into one target table delete each other's rows (an update one admits and the other's filter rejects is written by one and removed by the other); use one mapping whose filter joins both with any: (line 2)",
    ]);
    const legacy = base.replace('sale_order', 'legacy_order');
    const sameValue = `columns: { source_system: { const: CRM } }\n`;
    for (const [files, line] of [
      [{ 'a.yaml': base, 'b.yaml': legacy }, 1],
      [{ 'a.yaml': base + sameValue, 'b.yaml': legacy + sameValue }, 5],
    ] as const) {
      expect(problemsOf(files)).toEqual([
        `mappings/b.yaml: b: columns: target table stg_production_order is also written by mapping a (mappings/a.yaml, from public.sale_order): mappings of several source tables into one target table must each set the same column to a different const (e.g. source_system: { const: ORDERS } here and { const: RETURNS } there), so that each one's deletes and TRUNCATEs remove only its own rows (line ${line})`,
      ]);
    }
    const dir = mappingsDir({
      'a.yaml': `${base}columns: { source_system: { const: CRM }, order_ref: name }\n`,
      'b.yaml': `${legacy}columns: { order_ref: name, SOURCE_SYSTEM: { const: OLD } }\n`,
    });
    const owners = readMappings(dir).specs.map((spec) => spec.owner);
    expect(owners).toEqual([
      { column: 'source_system', value: 'CRM' },
      { column: 'source_system', value: 'OLD' },
    ]);
  });

  it('keeps the valid mappings of a directory with broken ones', () => {
    const dir = mappingsDir({ 'a.yaml': base, 'b.yaml': 'source: x\n', 'c.yaml': ': :' });
    const loaded = readMappings(dir);
    expect(loaded.specs.map((spec) => spec.name)).toEqual(['a']);
    expect(loaded.files.map((file) => path.basename(file))).toEqual(['a.yaml', 'b.yaml', 'c.yaml']);
    expect(new Set(loaded.problems.map((problem) => path.basename(problem.file)))).toEqual(
      new Set(['b.yaml', 'c.yaml']),
    );
  });
});

describe('loadMappings', () => {
  it('throws one MappingError (exit 2) naming the first problem and counting the others', () => {
    const dir = mappingsDir({ 'a.yaml': `${base}onDelete: hard\nfilter: {}\n` });
    let error: unknown;
    try {
      loadMappings(dir);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(MappingError);
    const failure = error as MappingError;
    expect(failure.exitCode).toBe(ExitCode.usage);
    expect(failure.message).toBe(
      `${dir}/a.yaml: a: onDelete: expected delete, soft or ignore (line 5) (and 1 more; run 'millrace mappings check')`,
    );
    expect(failure.context).toMatchObject({
      file: `${dir}/a.yaml`,
      mapping: 'a',
      path: 'onDelete',
    });
  });

  it('refuses a missing directory and a directory without mapping files', () => {
    expect(() => loadMappings('/nonexistent/mappings')).toThrow(
      'mappings directory /nonexistent/mappings does not exist (set --mappings / MILLRACE_MAPPINGS)',
    );
    const empty = mappingsDir({ 'README.md': '# not a mapping' });
    expect(() => loadMappings(empty)).toThrow(`no mapping files (*.yaml, *.yml) in ${empty}`);
  });

  it('reads .yml files too', () => {
    expect(loadMappings(mappingsDir({ 'orders.yml': base })).map((spec) => spec.name)).toEqual([
      'orders',
    ]);
  });
});

describe('readMappings: files', () => {
  it('reports a file it cannot read and skips directories named like YAML files', () => {
    const dir = mappingsDir({ 'a.yaml': base, 'locked.yaml': base });
    chmodSync(path.join(dir, 'locked.yaml'), 0o000);
    mkdirSync(path.join(dir, 'folder.yaml'));
    const loaded = readMappings(dir);
    chmodSync(path.join(dir, 'locked.yaml'), 0o644);
    expect(loaded.files.map((file) => path.basename(file))).toEqual(['a.yaml', 'locked.yaml']);
    // root reads anything; everyone else gets EACCES.
    if (process.getuid?.() !== 0) {
      expect(loaded.problems.map(formatProblem)).toEqual([
        expect.stringMatching(/locked\.yaml: cannot read the file: EACCES/),
      ]);
    }
  });
});
