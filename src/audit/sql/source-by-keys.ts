import { quotePgIdent, quotePgTable } from '../../postgres/pg-client.js';
import type { PgStatement, SourceTableRef } from './pg-statement.js';

/**
 * Source rows with these keys, given as PostgreSQL input texts (one array per key column) and
 * cast to the key columns' declared types (`keyTypes`, from format_type) so the primary-key
 * index answers. A text that is not valid for its type makes the statement fail with a data
 * exception (SQLSTATE class 22); the caller splits the batch to find it.
 */
export function selectSourceByKeys(
  table: SourceTableRef,
  columns: readonly string[],
  keyColumns: readonly string[],
  keyTypes: readonly string[],
  keys: readonly (readonly string[])[],
): PgStatement {
  const select = columns.map(quotePgIdent).join(', ');
  const from = quotePgTable(table.schema, table.table);
  const arrays = keyColumns.map((_, index) => keys.map((key) => key[index]!));
  if (keyColumns.length === 1) {
    return {
      text: `SELECT ${select} FROM ${from} WHERE ${quotePgIdent(keyColumns[0]!)} = ANY($1::${keyTypes[0]}[])`,
      values: arrays,
    };
  }
  const unnest = keyTypes.map((type, index) => `$${index + 1}::${type}[]`).join(', ');
  return {
    text: `SELECT ${select} FROM ${from} WHERE (${keyColumns.map(quotePgIdent).join(', ')}) IN (SELECT * FROM unnest(${unnest}))`,
    values: arrays,
  };
}
