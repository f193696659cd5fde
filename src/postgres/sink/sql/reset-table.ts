import type { RowOwner, TargetRow } from '../../../mapping/compiled-mapping.js';
import { quotePgIdent } from '../../pg-client.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';

/**
 * Empties a table (a source TRUNCATE), or sets columns on every row (soft delete); with `owner`,
 * only that mapping's rows of a table several source tables write. DELETE rather than TRUNCATE:
 * TRUNCATE would take an exclusive lock readers queue behind until the batch commits, and could
 * not be limited to one owner's rows.
 */
export function resetTable(
  table: string,
  set: TargetRow | undefined,
  owner?: RowOwner,
): PgStatement {
  const params = new Params();
  const quoted = quoteTargetTable(table);
  const head =
    set === undefined
      ? `DELETE FROM ${quoted}`
      : `UPDATE ${quoted} SET ${Object.keys(set)
          .map((column) => `${quotePgIdent(column)}=${params.add(set[column])}`)
          .join(',')}`;
  const where =
    owner === undefined ? '' : ` WHERE ${quotePgIdent(owner.column)}=${params.add(owner.value)}`;
  return { text: `${head}${where}`, values: params.values };
}
