import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';
import { boundsPredicate } from './key-bounds.js';

/**
 * The next keyset chunk of a target table in its own key order (MySQL's collation decides it),
 * of `owner`'s rows only when given.
 */
export function selectTargetChunk(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  after: readonly unknown[] | undefined,
  limit: number,
  owner?: RowOwner,
): Statement {
  const where = boundsPredicate(keyColumns, { after }, undefined, owner);
  return {
    sql: `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where.sql} ORDER BY ${keyColumns.map(quoteIdent).join(', ')} LIMIT ${limit}`,
    values: where.values,
  };
}
