import type { RowOwner, TargetRow } from '../../mapping/compiled-mapping.js';
import { sqlLiteral } from './literal.js';
import { quoteIdent, type Statement } from './quote.js';

/**
 * Empties a table (a source TRUNCATE), or sets columns on every row (soft delete); with `owner`,
 * only that mapping's rows of a table several source tables write. DELETE, not TRUNCATE TABLE:
 * it must stay inside the batch's transaction.
 */
export function resetTable(table: string, set: TargetRow | undefined, owner?: RowOwner): Statement {
  const statement = wholeTable(table, set);
  if (owner === undefined) return statement;
  return {
    sql: `${statement.sql} WHERE ${quoteIdent(owner.column)}=${sqlLiteral(owner.value)}`,
    values: [],
  };
}

function wholeTable(table: string, set: TargetRow | undefined): Statement {
  if (set === undefined) return { sql: `DELETE FROM ${quoteIdent(table)}`, values: [] };
  const columns = Object.keys(set);
  return {
    sql: `UPDATE ${quoteIdent(table)} SET ${columns.map((column) => `${quoteIdent(column)}=${sqlLiteral(set[column])}`).join(',')}`,
    values: [],
  };
}
