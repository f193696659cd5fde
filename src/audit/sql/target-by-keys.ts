import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { keyPredicate } from '../../mysql/sql/key-predicate.js';
import { quoteIdent, type Statement } from '../../mysql/sql/quote.js';

/** Target rows with these keys (values as bound by the writer or as read back), of `owner` only when given. */
export function selectTargetByKeys(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  keys: readonly (readonly unknown[])[],
  owner?: RowOwner,
): Statement {
  const where = keyPredicate(keyColumns, keys, owner);
  return {
    sql: `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${quoteIdent(table)} WHERE ${where.sql}`,
    values: where.values,
  };
}
