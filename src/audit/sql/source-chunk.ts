import { quotePgIdent, quotePgTable } from '../../postgres/pg-client.js';

/** A statement for `pg`, with positional parameters. */
export interface PgStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

export interface SourceTableRef {
  readonly schema: string;
  readonly table: string;
}

/**
 * The next keyset chunk of a source table in key order: rows whose key is above `after` (the
 * last key of the previous chunk; undefined for the first chunk). The row comparison
 * `(a, b) > ($1, $2)` lets PostgreSQL walk the primary-key index, so each chunk costs its own
 * rows, not a scan from the start.
 */
export function selectSourceChunk(
  table: SourceTableRef,
  columns: readonly string[],
  keyColumns: readonly string[],
  after: readonly unknown[] | undefined,
  limit: number,
): PgStatement {
  const select = columns.map(quotePgIdent).join(', ');
  const key = keyColumns.map(quotePgIdent);
  const order = key.join(', ');
  const from = quotePgTable(table.schema, table.table);
  if (after === undefined) {
    return { text: `SELECT ${select} FROM ${from} ORDER BY ${order} LIMIT ${limit}`, values: [] };
  }
  const params = keyColumns.map((_, index) => `$${index + 1}`);
  const where =
    key.length === 1 ? `${key[0]} > $1` : `(${key.join(', ')}) > (${params.join(', ')})`;
  return {
    text: `SELECT ${select} FROM ${from} WHERE ${where} ORDER BY ${order} LIMIT ${limit}`,
    values: [...after],
  };
}
