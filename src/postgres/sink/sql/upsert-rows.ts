import type { TargetRow } from '../../../mapping/compiled-mapping.js';
import { quotePgIdent } from '../../pg-client.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';

/**
 * `INSERT … ON CONFLICT (key) DO UPDATE` for rows that all set the same `columns` (each key at
 * most once: PostgreSQL refuses to update one row twice in a statement). Only the columns present
 * are updated, so a column left out keeps its stored value.
 */
export function upsertRows(
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
  rows: readonly TargetRow[],
): PgStatement {
  const params = new Params();
  const tuples = rows.map(
    (row) => `(${columns.map((column) => params.add(row[column])).join(',')})`,
  );
  return {
    text: `INSERT INTO ${quoteTargetTable(table)} (${columns.map(quotePgIdent).join(',')}) VALUES ${tuples.join(',')} ${onConflict(columns, keyColumns)}`,
    values: params.values,
  };
}

/** The conflict clause: set every non-key column present from the proposed row. */
export function onConflict(columns: readonly string[], keyColumns: readonly string[]): string {
  const updates = columns
    .filter((column) => !keyColumns.includes(column))
    .map(quotePgIdent)
    .map((column) => `${column}=EXCLUDED.${column}`);
  const target = `ON CONFLICT (${keyColumns.map(quotePgIdent).join(',')})`;
  return updates.length > 0
    ? `${target} DO UPDATE SET ${updates.join(',')}`
    : `${target} DO NOTHING`;
}
