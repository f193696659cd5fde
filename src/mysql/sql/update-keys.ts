import type { RowOwner, TargetRow } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import { keyPredicate } from './key-predicate.js';
import { quoteIdent, type Statement } from './quote.js';

/** Sets the same column values on the rows with these keys; rows that are absent stay absent. */
export function updateKeys(
  table: string,
  keyColumns: readonly string[],
  set: TargetRow,
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): Statement {
  const columns = Object.keys(set);
  const where = keyPredicate(keyColumns, keys, owner);
  return {
    sql: `UPDATE ${quoteIdent(table)} SET ${columns.map((column) => `${quoteIdent(column)}=?`).join(',')} WHERE ${where.sql}`,
    values: [...columns.map((column) => set[column]), ...where.values],
  };
}
