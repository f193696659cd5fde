import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderFilter } from '../../src/audit/digest-filter.js';
import { compileFilter } from '../../src/mapping/compile-filter.js';
import type { FilterCondition, FilterSpec } from '../../src/mapping/mapping-spec.js';
import type { SourceTable } from '../../src/mapping/tables.js';
import { valueOrder } from '../../src/mapping/value-order.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * A filter rendered as SQL must pass exactly the rows the compiled filter passes: every
 * condition below is evaluated both ways over rows of edge values (NULLs, NaN, code points the
 * UTF-16 order puts elsewhere, an enum whose order is not its labels' text order).
 */
const columns = ['n', 'x', 'b', 'd', 'ts', 't', 'e', 'u'] as const;

const rowsSql = `
  insert into f values
    (1, 5, 1.50, true, '2024-01-01', '2024-01-01 00:00:00+00', 'abc', 'zeta', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    (2, -3, 'NaN', false, '1999-12-31', '2023-12-31 23:59:59.999999+00', 'ABC', 'alpha', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    (3, null, null, null, null, null, null, null, null),
    (4, 0, 0, true, 'infinity', 'infinity', '', 'mid', '00000000-0000-0000-0000-000000000000'),
    (5, 100000, -0.001, false, '0044-03-15 BC', '2024-01-01 05:30:00+05:30', '\u{1F600}', 'zeta', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
    (6, 7, 1.5, true, '2024-02-29', '-infinity', '\u{FFFD}', 'alpha', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'),
    (7, 2147483647, 12345678901234567890.12, false, '2000-03-02', '2000-01-01 00:00:00+00', 'abc ', 'mid', null)`;

function condition(
  column: string,
  op: FilterCondition['op'],
  value: FilterCondition['value'],
): FilterCondition {
  return { kind: 'condition', column, op, value, field: `filter.${column}.${op}` };
}

const filters: readonly FilterSpec[] = [
  condition('n', 'gte', '0'),
  condition('n', 'lt', '7.5'),
  condition('n', 'ne', '5'),
  condition('n', 'in', ['5', '7', '-3']),
  condition('n', 'notIn', ['5', '1e5']),
  condition('x', 'gt', '1'),
  condition('x', 'eq', '1.500'),
  condition('x', 'lte', '0'),
  condition('b', 'eq', 'true'),
  condition('b', 'ne', 'yes'),
  condition('b', 'lt', 'true'),
  condition('d', 'gt', '2000-01-01'),
  condition('d', 'lte', '2024-02-29'),
  condition('ts', 'gte', '2024-01-01'),
  condition('ts', 'lt', '2024-01-01T00:00:00Z'),
  condition('ts', 'eq', '2024-01-01 01:00:00+01'),
  condition('t', 'gt', 'abc'),
  condition('t', 'lt', '\u{FFFD}'),
  condition('t', 'eq', 'abc'),
  condition('t', 'in', ['', 'ABC']),
  condition('e', 'gt', 'mid'),
  condition('e', 'notIn', ['alpha']),
  condition('u', 'eq', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
  condition('u', 'gt', 'b'),
  condition('t', 'isNull', true),
  condition('e', 'isNull', false),
  {
    kind: 'any',
    field: 'filter.any',
    items: [
      condition('b', 'eq', 'true'),
      { kind: 'all', field: 'filter.all', items: [condition('n', 'lt', '0')] },
      condition('t', 'isNull', true),
    ],
  },
  {
    kind: 'all',
    field: 'filter',
    items: [condition('x', 'ne', '1.5'), condition('e', 'in', ['zeta', 'mid'])],
  },
  { kind: 'any', field: 'filter.any', items: [] },
];

describe('filters rendered as SQL', () => {
  let db: TestDatabases;
  let table: SourceTable;
  let rows: Record<string, string | null>[];

  beforeAll(async () => {
    db = await createTestDatabases('digest filter');
    await db.pg.query("create type phase as enum ('zeta', 'mid', 'alpha')");
    await db.pg.query(
      `create table f (id int primary key, n int, x numeric, b boolean, d date, ts timestamptz,
                       t text, e phase, u uuid)`,
    );
    await db.pg.query(rowsSql);
    const tables = await introspectSource(db.pg, [{ schema: 'public', table: 'f' }]);
    table = [...tables.values()][0]!;
    const read = await db.pg.query<Record<string, string | null>>(
      `select id::text, ${columns.map((column) => `${column}::text`).join(', ')} from f order by id`,
    );
    rows = read.rows;
  }, 60_000);

  afterAll(async () => {
    await db?.drop();
  });

  it('passes exactly the rows the compiled filter passes', async () => {
    const context = {
      orderOf: (column: string) => valueOrder(table.columns.get(column)!.type),
      invalid: () => {
        throw new Error('invalid literal');
      },
    };
    for (const filter of filters) {
      const rendered = renderFilter(filter, table, { utcZone: true });
      expect(rendered.reason, JSON.stringify(filter)).toBeUndefined();
      const predicate = compileFilter(filter, context);
      const expected = rows.filter((row) => predicate(row) === true).map((row) => row.id);
      const { rows: passed } = await db.pg.query<{ id: string }>(
        `select id::text from f where ${rendered.sql} order by id`,
      );
      expect(
        passed.map((row) => row.id),
        JSON.stringify(filter),
      ).toEqual(expected);
    }
  });

  it('declines floats, char(n) and a zone-less timestamptz outside UTC', async () => {
    await db.pg.query('create table g (id int primary key, r float8, c char(4), ts timestamptz)');
    const tables = await introspectSource(db.pg, [{ schema: 'public', table: 'g' }]);
    const g = [...tables.values()][0]!;
    expect(renderFilter(condition('r', 'lt', '1'), g, { utcZone: true }).reason).toMatch(
      /r \(float8\)/,
    );
    expect(renderFilter(condition('c', 'eq', 'a'), g, { utcZone: true }).reason).toMatch(
      /c \(bpchar\)/,
    );
    expect(renderFilter(condition('ts', 'gt', '2024-01-01'), g, {}).reason).toMatch(/ts/);
    expect(
      renderFilter(condition('ts', 'gt', '2024-01-01'), g, { utcZone: true }).sql,
    ).toBeDefined();
  });
});
