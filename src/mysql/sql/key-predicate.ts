import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { sqlLiteral, tupleLiteral } from './literal.js';
import { type ListFrame, quoteIdent, type Statement } from './quote.js';

/**
 * `k IN (…)` or `(k1,k2) IN ((…),(…))` for a set of keys, limited to the rows of `owner` when
 * given (a table several source tables write). Values are inline literals.
 */
export function keyPredicate(
  keyColumns: readonly string[],
  keys: readonly (readonly unknown[])[],
  owner?: RowOwner,
): Statement {
  const frame = keyListFrame('', keyColumns, '', owner);
  return { sql: `${frame.head}${keys.map(keyLiteral).join(',')}${frame.tail}`, values: [] };
}

/** `prefix k IN (` … `) AND owner=… suffix`, around a list of `keyLiteral`s. */
export function keyListFrame(
  prefix: string,
  keyColumns: readonly string[],
  suffix: string,
  owner?: RowOwner,
): ListFrame {
  const columns =
    keyColumns.length === 1
      ? quoteIdent(keyColumns[0]!)
      : `(${keyColumns.map(quoteIdent).join(',')})`;
  const ownerClause =
    owner === undefined ? '' : ` AND ${quoteIdent(owner.column)}=${sqlLiteral(owner.value)}`;
  return { head: `${prefix}${columns} IN (`, tail: `)${ownerClause}${suffix}` };
}

/** One key as it stands in a `keyListFrame` list. */
export function keyLiteral(key: readonly unknown[]): string {
  return key.length === 1 ? sqlLiteral(key[0]) : tupleLiteral(key);
}
