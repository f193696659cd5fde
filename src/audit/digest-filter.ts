import type { FilterCondition, FilterSpec } from '../mapping/mapping-spec.js';
import type { SourceTable } from '../mapping/tables.js';
import { valueOrder } from '../mapping/value-order.js';
import { quotePgIdent } from '../postgres/pg-client.js';
import type { SourceType } from '../values/column-types.js';
import { type PgSession, pgTextLiteral } from '../values/pg-canonical-sql.js';

/** A filter's PostgreSQL condition, or why it has none (the mapping is then compared by rows). */
export type FilterRendering =
  | { readonly sql: string; readonly reason?: undefined }
  | { readonly sql?: undefined; readonly reason: string };

/**
 * How PostgreSQL compares a column the way the compiled filter (src/mapping/compile-filter.ts)
 * does: the column's SQL, and a literal's SQL for a YAML literal (undefined when not rendered).
 */
interface ColumnOrder {
  readonly column: string;
  literal(text: string): string | undefined;
}

const integerTypes = new Set(['int2', 'int4', 'int8']);
const textTypes = new Set(['text', 'varchar']);

/**
 * The filter's order for a column, in SQL, where PostgreSQL's comparison is exactly the
 * filter's: numbers by value (integers and numeric; NaN above every number in both), booleans,
 * dates, times and timestamps by value (a timestamptz literal without a zone is UTC in the
 * filter, so only in a UTC session), and text, varchar, enums and uuids as their text in code
 * point order (the "C" collation on a UTF8 database). Not floats (the filter compares their
 * decimal text, PostgreSQL their binary value) nor char(n) (PostgreSQL ignores trailing spaces
 * the text form keeps).
 */
function columnOrder(name: string, type: SourceType, session: PgSession): ColumnOrder | undefined {
  const column = quotePgIdent(name);
  if (integerTypes.has(type.name) || type.name === 'numeric') {
    return {
      column,
      literal(text) {
        const key = valueOrder(type).key(text);
        // Finite numbers only: numeric's input and the filter agree on those spellings.
        if (key === undefined || key === '0' || key === '4' || key === '5') return undefined;
        return `${pgTextLiteral(text.trim())}::numeric`;
      },
    };
  }
  const typed = (cast: string) => ({
    column,
    literal: (text: string) => `${pgTextLiteral(text)}::${cast}`,
  });
  switch (type.name) {
    case 'bool':
      return {
        column,
        literal: (text) => (valueOrder(type).key(text) === 't' ? 'true' : 'false'),
      };
    case 'date':
    case 'time':
    case 'timestamp':
      return typed(type.name);
    case 'timestamptz':
      return session.utcZone ? typed('timestamptz') : undefined;
    case 'uuid':
      return { column: `(${column})::text COLLATE "C"`, literal: pgTextLiteral };
  }
  if (textTypes.has(type.name) || type.category === 'E') {
    return { column: `(${column})::text COLLATE "C"`, literal: pgTextLiteral };
  }
  return undefined;
}

const comparisons: Readonly<Record<string, string>> = {
  eq: '=',
  ne: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
};

/**
 * One condition, with the filter's NULL rule (a NULL column is not equal to anything: `ne` and
 * `notIn` hold for it, the others do not) made explicit, so NOT-free AND/OR trees of them
 * decide every row as the compiled filter does.
 */
function renderCondition(
  condition: FilterCondition,
  table: SourceTable,
  session: PgSession,
): FilterRendering {
  const { column: name, op } = condition;
  if (op === 'isNull') {
    return { sql: `${quotePgIdent(name)} IS ${condition.value === true ? '' : 'NOT '}NULL` };
  }
  const type = table.columns.get(name)!.type;
  const order = columnOrder(name, type, session);
  const why = { reason: `the filter on ${name} (${type.name}) is evaluated in JavaScript only` };
  if (order === undefined) return why;
  const literals = (Array.isArray(condition.value) ? condition.value : [condition.value]).map(
    (text) => order.literal(String(text)),
  );
  if (literals.some((literal) => literal === undefined)) return why;
  const whenNull = op === 'ne' || op === 'notIn';
  if (literals.length === 0) return { sql: String(whenNull) };
  const test =
    op === 'in' || op === 'notIn'
      ? `${order.column} ${op === 'in' ? '=' : '<>'} ${op === 'in' ? 'ANY' : 'ALL'}(ARRAY[${literals.join(', ')}])`
      : `${order.column} ${comparisons[op]} ${literals[0]}`;
  return { sql: `coalesce(${test}, ${whenNull})` };
}

/** The filter as a PostgreSQL condition selecting exactly the rows it passes, or why not. */
export function renderFilter(
  filter: FilterSpec,
  table: SourceTable,
  session: PgSession,
): FilterRendering {
  if (filter.kind === 'condition') return renderCondition(filter, table, session);
  const parts: string[] = [];
  for (const item of filter.items) {
    const rendered = renderFilter(item, table, session);
    if (rendered.reason !== undefined) return rendered;
    parts.push(`(${rendered.sql})`);
  }
  if (parts.length === 0) return { sql: filter.kind === 'all' ? 'true' : 'false' };
  return { sql: parts.join(filter.kind === 'all' ? ' AND ' : ' OR ') };
}
