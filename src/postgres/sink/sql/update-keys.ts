import type { RowOwner, TargetRow } from '../../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../../values/column-types.js';
import { quotePgIdent } from '../../pg-client.js';
import { keyPredicate } from './key-predicate.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';

/** Sets the same column values on the rows with these keys; rows that are absent stay absent. */
export function updateKeys(
  table: string,
  keyColumns: readonly string[],
  set: TargetRow,
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): PgStatement {
  const params = new Params();
  const assignments = Object.keys(set).map(
    (column) => `${quotePgIdent(column)}=${params.add(set[column])}`,
  );
  const where = keyPredicate(params, keyColumns, keys, owner);
  return {
    text: `UPDATE ${quoteTargetTable(table)} SET ${assignments.join(',')} WHERE ${where}`,
    values: params.values,
  };
}
