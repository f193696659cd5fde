import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { boundsPredicate, type KeyBounds } from './key-bounds.js';

/**
 * Count and MD5 of the live target rows of a key range, computed by the server: `rowSql` renders
 * one row as the audit's comparison text (see chunk-hash.ts), rows are joined in key order with
 * the same separator as fields. Only the two values cross the network.
 */
const unitSeparator = String.fromCharCode(31);

export function hashTargetRange(
  table: string,
  rowSql: string,
  keyColumns: readonly string[],
  bounds: KeyBounds,
  live: string | undefined,
): Statement {
  const where = boundsPredicate(keyColumns, bounds, live);
  const order = keyColumns.map(quoteIdent).join(', ');
  // SEPARATOR takes a literal only: the unit separator itself, inside quotes.
  return {
    sql: `SELECT COUNT(*) AS n, MD5(GROUP_CONCAT(${rowSql} ORDER BY ${order} SEPARATOR '${unitSeparator}')) AS h FROM ${quoteIdent(table)} WHERE ${where.sql}`,
    values: where.values,
  };
}
