import type { RowOwner } from '../../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../../values/column-types.js';
import { quotePgIdent } from '../../pg-client.js';
import type { Params } from './statement.js';

/**
 * `k IN (…)` or `(k1,k2) IN ((…),(…))` for a set of keys, limited to the rows of `owner` when
 * given (a table several source tables write).
 */
export function keyPredicate(
  params: Params,
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): string {
  const columns = keyColumns.map(quotePgIdent);
  const tuple = (key: readonly TargetValue[]) =>
    key.length === 1 ? params.add(key[0]) : `(${key.map((value) => params.add(value)).join(',')})`;
  const left = columns.length === 1 ? columns[0]! : `(${columns.join(',')})`;
  const keyed = `${left} IN (${keys.map(tuple).join(',')})`;
  return owner === undefined
    ? keyed
    : `${keyed} AND ${quotePgIdent(owner.column)}=${params.add(owner.value)}`;
}
