import type { TargetRow } from '../../mapping/compiled-mapping.js';
import { sqlLiteral } from './literal.js';
import { type ListFrame, quoteIdent, type Statement } from './quote.js';

/**
 * `INSERT … ON DUPLICATE KEY UPDATE` around `rowLiteral`s of rows that all set the same
 * `columns`. Only the columns present are updated, so a column left out (an unchanged TOAST
 * value) keeps its stored value. VALUES(col) rather than the row alias: MariaDB has no alias
 * syntax, MySQL 8 still accepts it.
 */
export function upsertFrame(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
): ListFrame {
  const updates = columns.filter((column) => !keyColumns.includes(column)).map(quoteIdent);
  const onDuplicate =
    updates.length > 0
      ? updates.map((column) => `${column}=VALUES(${column})`).join(',')
      : `${quoteIdent(keyColumns[0]!)}=${quoteIdent(keyColumns[0]!)}`;
  return {
    head: `INSERT INTO ${quoteIdent(table)} (${columns.map(quoteIdent).join(',')}) VALUES `,
    tail: ` ON DUPLICATE KEY UPDATE ${onDuplicate}`,
  };
}

/** `(v1,v2,…)`: the row's values of `columns`, as literals. */
export function rowLiteral(row: TargetRow, columns: readonly string[]): string {
  let text = '(';
  for (let index = 0; index < columns.length; index++) {
    if (index > 0) text += ',';
    text += sqlLiteral(row[columns[index]!]);
  }
  return `${text})`;
}

/** The upsert of `rows` as one statement. */
export function upsertRows(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  rows: readonly TargetRow[],
): Statement {
  const frame = upsertFrame(table, columns, keyColumns);
  const list = rows.map((row) => rowLiteral(row, columns)).join(',');
  return { sql: `${frame.head}${list}${frame.tail}`, values: [] };
}
