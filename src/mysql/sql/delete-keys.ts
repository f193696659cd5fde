import type { TargetValue } from '../../values/column-types.js';
import { keyPredicate } from './key-predicate.js';
import { quoteIdent, type Statement } from './quote.js';

/** Deletes the rows with these keys. */
export function deleteKeys(
  table: string,
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
): Statement {
  const where = keyPredicate(keyColumns, keys);
  return { sql: `DELETE FROM ${quoteIdent(table)} WHERE ${where.sql}`, values: where.values };
}
