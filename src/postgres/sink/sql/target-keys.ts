import type { RowOwner } from '../../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../../values/column-types.js';
import { quotePgIdent } from '../../pg-client.js';
import { Params, type PgStatement, quoteTargetTable } from './statement.js';

/** A range over a CRM table's key: after `after` (exclusive), up to `upTo` (inclusive). */
export interface TargetKeyRange {
  readonly after?: readonly TargetValue[];
  readonly upTo?: readonly TargetValue[];
}

/**
 * The keys of a CRM table's rows in a key range (of `owner` only, when given), each part as its
 * text, in key order.
 */
export function targetKeysInRange(
  table: string,
  keyColumns: readonly string[],
  range: TargetKeyRange,
  owner?: RowOwner,
): PgStatement {
  const params = new Params();
  const columns = keyColumns.map(quotePgIdent);
  const left = `(${columns.join(',')})`;
  const tuple = (key: readonly TargetValue[]) =>
    `(${key.map((value) => params.add(value)).join(',')})`;
  const where: string[] = [];
  if (range.after) where.push(`${left} > ${tuple(range.after)}`);
  if (range.upTo) where.push(`${left} <= ${tuple(range.upTo)}`);
  if (owner) where.push(`${quotePgIdent(owner.column)} = ${params.add(owner.value)}`);
  const select = columns.map((column) => `${column}::text`).join(', ');
  return {
    text:
      `SELECT ${select} FROM ${quoteTargetTable(table)}` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${columns.join(', ')}`,
    values: params.values,
  };
}
