import type { RowOwner } from '../../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../../values/column-types.js';
import { quotePgIdent } from '../../pg-client.js';
import { keyPredicate } from './key-predicate.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';
import { onConflict } from './upsert-rows.js';

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
): PgStatement {
  const params = new Params();
  const copied = columns.map(quotePgIdent);
  const newKey = to.map((value) => params.add(value));
  const where = keyPredicate(params, keyColumns, [from], owner);
  const quoted = quoteTargetTable(table);
  return {
    text:
      `INSERT INTO ${quoted} (${[...keyColumns.map(quotePgIdent), ...copied].join(',')}) ` +
      `SELECT ${[...newKey, ...copied].join(',')} FROM ${quoted} WHERE ${where} ` +
      onConflict([...keyColumns, ...columns], keyColumns),
    values: params.values,
  };
}
