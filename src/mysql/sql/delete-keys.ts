import type { RowOwner } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import { keyPredicate } from './key-predicate.js';
import { quoteIdent, type Statement } from './quote.js';

/** Deletes the rows with these keys (of `owner` only, when given). */
export function deleteKeys(
  table: string,
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): Statement {
  const where = keyPredicate(keyColumns, keys, owner);
  return { sql: `DELETE FROM ${quoteIdent(table)} WHERE ${where.sql}`, values: where.values };
}
