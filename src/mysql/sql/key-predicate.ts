import type { TargetValue } from '../../values/column-types.js';
import { quoteIdent, type Statement } from './quote.js';

/** `k IN (…)` or `(k1,k2) IN ((…),(…))` for a set of keys. */
export function keyPredicate(
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
