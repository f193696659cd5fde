import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { boundsPredicate, type KeyBounds } from './key-bounds.js';

/**
 * Count and MD5 of the live target rows of a key range, computed by the server: `rowSql` renders
 * one row as the audit's comparison text (see chunk-hash.ts), rows are joined in key order with
 * the same separator as fields. Only the two values cross the network. With `owner`, only the
 * rows of that mapping of a shared table.
 */
const unitSeparator = String.fromCharCode(31);

export function hashTargetRange(
  table: string,
  rowSql: string,
  keyColumns: readonly string[],
  bounds: KeyBounds,
  live: string | undefined,
  owner?: RowOwner,
): Statement {
  const where = boundsPredicate(keyColumns, bounds, live, owner);
  const order = keyColumns.map(quoteIdent).join(', ');
  // SEPARATOR takes a literal only: the unit separator itself, inside quotes.
  return {
    sql: `SELECT COUNT(*) AS n, MD5(GROUP_CONCAT(${rowSql} ORDER BY ${order} SEPARATOR '${unitSeparator}')) AS h FROM ${quoteIdent(table)} WHERE ${where.sql}`,
    values: where.values,
  };
}
