import type { TargetRow } from '../../mapping/compiled-mapping.js';
import { quoteIdent, type Statement } from './quote.js';

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` for rows that all set the same `columns`. Only the columns
 * present are updated, so a column left out (an unchanged TOAST value) keeps its stored value.
 * VALUES(col) rather than the row alias: MariaDB has no alias syntax, MySQL 8 still accepts it.
 */
export function upsertRows(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  rows: readonly TargetRow[],
): Statement {
  const quoted = columns.map(quoteIdent);
  const tuple = `(${columns.map(() => '?').join(',')})`;
  const updates = columns.filter((column) => !keyColumns.includes(column)).map(quoteIdent);
  const onDuplicate =
    updates.length > 0
      ? updates.map((column) => `${column}=VALUES(${column})`).join(',')
      : `${quoteIdent(keyColumns[0]!)}=${quoteIdent(keyColumns[0]!)}`;
  const values: unknown[] = new Array(rows.length * columns.length);
  let i = 0;
  for (const row of rows) for (const column of columns) values[i++] = row[column];
  return {
    sql: `INSERT INTO ${quoteIdent(table)} (${quoted.join(',')}) VALUES ${new Array(rows.length).fill(tuple).join(',')} ON DUPLICATE KEY UPDATE ${onDuplicate}`,
    values,
  };
}
