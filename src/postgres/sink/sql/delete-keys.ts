import type { RowOwner } from '../../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../../values/column-types.js';
import { keyPredicate } from './key-predicate.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';

/** Deletes the rows with these keys (of `owner` only, when given). */
export function deleteKeys(
  table: string,
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): PgStatement {
  const params = new Params();
  const where = keyPredicate(params, keyColumns, keys, owner);
  return { text: `DELETE FROM ${quoteTargetTable(table)} WHERE ${where}`, values: params.values };
}
