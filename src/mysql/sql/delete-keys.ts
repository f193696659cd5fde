import type { RowOwner } from '../../mapping/compiled-mapping.js';
import { keyListFrame } from './key-predicate.js';
import { type ListFrame, quoteIdent } from './quote.js';

/** Deletes the rows whose keys (`keyLiteral`s) go between head and tail (of `owner` only, when given). */
export function deleteKeysFrame(
  table: string,
  keyColumns: readonly string[],
  owner?: RowOwner,
): ListFrame {
  return keyListFrame(`DELETE FROM ${quoteIdent(table)} WHERE `, keyColumns, '', owner);
}
