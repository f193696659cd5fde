import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';

/** A key range on the target: above `after` (exclusive) and up to `upTo` (inclusive); open when undefined. */
export interface KeyBounds {
  readonly after?: readonly unknown[] | undefined;
  readonly upTo?: readonly unknown[] | undefined;
}

/**
 * `(a, b) > (?, ?)` spelt out as `a > ? OR (a = ? AND b > ?)`: MariaDB's range optimizer does not
 * use an index for row-constructor comparisons, and this form it does.
 */
function tupleCompare(
  columns: readonly string[],
  values: readonly unknown[],
  last: '>' | '<=',
): Statement {
  const strict = last === '>' ? '>' : '<';
  const build = (index: number): Statement => {
    const column = quoteIdent(columns[index]!);
    const value = values[index];
    if (index === columns.length - 1) return { sql: `${column} ${last} ?`, values: [value] };
    const rest = build(index + 1);
    return {
      sql: `(${column} ${strict} ? OR (${column} = ? AND ${rest.sql}))`,
      values: [value, value, ...rest.values],
    };
  };
  return build(0);
}

/**
 * The WHERE conditions of `bounds` (and the live-row condition), or `TRUE`. With `owner` (a
 * table several source tables write), only that mapping's rows: the others' are not its extras.
 */
export function boundsPredicate(
  keyColumns: readonly string[],
  bounds: KeyBounds,
  live?: string,
  owner?: RowOwner,
): Statement {
  const parts: string[] = [];
  const values: unknown[] = [];
  if (bounds.after !== undefined) {
    const above = tupleCompare(keyColumns, bounds.after, '>');
    parts.push(above.sql);
    values.push(...above.values);
  }
  if (bounds.upTo !== undefined) {
    const below = tupleCompare(keyColumns, bounds.upTo, '<=');
    parts.push(below.sql);
    values.push(...below.values);
  }
  if (live !== undefined) parts.push(live);
  if (owner !== undefined) {
    parts.push(`${quoteIdent(owner.column)} = ?`);
    values.push(owner.value);
  }
  return { sql: parts.length === 0 ? 'TRUE' : parts.join(' AND '), values };
}
