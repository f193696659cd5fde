import type { RowOwner, TargetRow } from '../../mapping/compiled-mapping.js';
import { keyListFrame } from './key-predicate.js';
import { sqlLiteral } from './literal.js';
import { type ListFrame, quoteIdent } from './quote.js';

/**
 * Sets the same column values on the rows whose keys (`keyLiteral`s) go between head and tail;
 * rows that are absent stay absent.
 */
export function updateKeysFrame(
  table: string,
  keyColumns: readonly string[],
  set: TargetRow,
  owner?: RowOwner,
): ListFrame {
  const assignments = Object.keys(set)
    .map((column) => `${quoteIdent(column)}=${sqlLiteral(set[column])}`)
    .join(',');
  return keyListFrame(
    `UPDATE ${quoteIdent(table)} SET ${assignments} WHERE `,
    keyColumns,
    '',
    owner,
  );
}
