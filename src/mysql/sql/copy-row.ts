import type { RowOwner } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import { keyPredicate } from './key-predicate.js';
import { sqlLiteral } from './literal.js';
import { quoteIdent, type Statement } from './quote.js';

/**
 * Copies `columns` of the row at key `from` into the row at key `to`, creating it when absent
 * (its other columns take their defaults until the upsert that follows sets them). Nothing
 * happens when no row has key `from`.
 */
export function copyRow(
  table: string,
  keyColumns: readonly string[],
  columns: readonly string[],
  from: readonly TargetValue[],
  to: readonly TargetValue[],
  owner?: RowOwner,
): Statement {
  const copied = columns.map(quoteIdent);
  const where = keyPredicate(keyColumns, [from], owner);
  const updates = copied.map((column) => `${column}=VALUES(${column})`).join(',');
  return {
    sql:
      `INSERT INTO ${quoteIdent(table)} (${[...keyColumns.map(quoteIdent), ...copied].join(',')}) ` +
      `SELECT ${[...to.map(sqlLiteral), ...copied].join(',')} FROM ${quoteIdent(table)} WHERE ${where.sql} ` +
      `ON DUPLICATE KEY UPDATE ${updates}`,
    values: [],
  };
}
