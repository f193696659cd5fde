import { quoteIdent } from '../sql/quote.js';
import type { FieldForm } from './load-data-text.js';

/**
 * `LOAD DATA LOCAL INFILE` of the file LoadDataText writes into `table`: hex and BIT fields go
 * through a user variable and UNHEX or CAST. The file name means nothing: the driver's stream factory supplies
 * the content.
 */
export function loadDataSql(
  table: string,
  columns: readonly string[],
  forms: readonly FieldForm[],
): string {
  const targets = columns.map((column, index) =>
    forms[index] === 'text' ? quoteIdent(column) : `@millrace_${index}`,
  );
  const sets = columns.flatMap((column, index) => {
    const variable = `@millrace_${index}`;
    if (forms[index] === 'hex') return [`${quoteIdent(column)} = UNHEX(${variable})`];
    if (forms[index] === 'bit') return [`${quoteIdent(column)} = CAST(${variable} AS UNSIGNED)`];
    return [];
  });
  return [
    `LOAD DATA LOCAL INFILE 'millrace-rows' INTO TABLE ${quoteIdent(table)}`,
    'CHARACTER SET utf8mb4',
    "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n'",
    `(${targets.join(', ')})`,
    ...(sets.length > 0 ? [`SET ${sets.join(', ')}`] : []),
  ].join(' ');
}

/** The session's staging copy of `table` (same columns and unique keys), created empty. */
export function stagingTableSql(staging: string, table: string): readonly string[] {
  // DROP/CREATE of a TEMPORARY table does not end the open transaction.
  return [
    `DROP TEMPORARY TABLE IF EXISTS ${quoteIdent(staging)}`,
    `CREATE TEMPORARY TABLE ${quoteIdent(staging)} LIKE ${quoteIdent(table)}`,
  ];
}

/**
 * Moves the staged rows into `table` with the writer's upsert semantics: every column present
 * is set, a row that exists keeps only the columns the mapping does not write.
 */
export function mergeStagedSql(
  table: string,
  staging: string,
  columns: readonly string[],
  keyColumns: readonly string[],
): string {
  const list = columns.map(quoteIdent).join(', ');
  const updates = columns.filter((column) => !keyColumns.includes(column)).map(quoteIdent);
  const onDuplicate =
    updates.length > 0
      ? updates.map((column) => `${column}=VALUES(${column})`).join(', ')
      : `${quoteIdent(keyColumns[0]!)}=${quoteIdent(keyColumns[0]!)}`;
  return `INSERT INTO ${quoteIdent(table)} (${list}) SELECT ${list} FROM ${quoteIdent(staging)} ON DUPLICATE KEY UPDATE ${onDuplicate}`;
}

/** Whether `table` holds a row whose key is above `after` (any row when null). */
export function rowsAboveSql(table: string, keyColumns: readonly string[], after: boolean): string {
  const key = keyColumns.map(quoteIdent);
  const where = !after
    ? ''
    : key.length === 1
      ? ` WHERE ${key[0]} > ?`
      : ` WHERE (${key.join(', ')}) > (${key.map(() => '?').join(', ')})`;
  return `SELECT 1 AS found FROM ${quoteIdent(table)}${where} LIMIT 1`;
}
