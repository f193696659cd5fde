import type { TargetRow } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from './quote.js';

/**
 * Empties a table (a source TRUNCATE), or sets columns on every row (soft delete). DELETE, not
 * TRUNCATE TABLE: it must stay inside the batch's transaction.
 */
export function resetTable(table: string, set: TargetRow | undefined): Statement {
  if (set === undefined) return { sql: `DELETE FROM ${quoteIdent(table)}`, values: [] };
  const columns = Object.keys(set);
  return {
    sql: `UPDATE ${quoteIdent(table)} SET ${columns.map((column) => `${quoteIdent(column)}=?`).join(',')}`,
    values: columns.map((column) => set[column]),
  };
}
