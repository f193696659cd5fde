import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { boundsPredicate, type KeyBounds } from './key-bounds.js';

/** Target rows in a key range, in the target's key order, at most `limit`; `owner`'s only when given. */
export function selectTargetRange(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  bounds: KeyBounds,
  limit: number,
  owner?: RowOwner,
): Statement {
  const where = boundsPredicate(keyColumns, bounds, undefined, owner);
  return {
    sql: `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where.sql} ORDER BY ${keyColumns.map(quoteIdent).join(', ')} LIMIT ${limit}`,
    values: where.values,
  };
}
