import type { RowOwner } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import { quoteIdent, type Statement } from './quote.js';

/**
 * `k IN (…)` or `(k1,k2) IN ((…),(…))` for a set of keys, limited to the rows of `owner` when
 * given (a table several source tables write).
 */
export function keyPredicate(
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
  owner?: RowOwner,
): Statement {
  const keyed = keysIn(keyColumns, keys);
  return owner === undefined ? keyed : andOwner(keyed, owner);
}

/** `statement AND owner_column = value`. */
function andOwner(statement: Statement, owner: RowOwner): Statement {
  return {
    sql: `${statement.sql} AND ${quoteIdent(owner.column)}=?`,
    values: [...statement.values, owner.value],
  };
}

function keysIn(
  keyColumns: readonly string[],
  keys: readonly (readonly TargetValue[])[],
): Statement {
  if (keyColumns.length === 1) {
    return {
      sql: `${quoteIdent(keyColumns[0]!)} IN (${keys.map(() => '?').join(',')})`,
      values: keys.map((key) => key[0]),
    };
  }
  const tuple = `(${keyColumns.map(() => '?').join(',')})`;
  return {
    sql: `(${keyColumns.map(quoteIdent).join(',')}) IN (${keys.map(() => tuple).join(',')})`,
    values: keys.flat(),
  };
}
