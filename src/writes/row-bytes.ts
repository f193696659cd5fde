import type { SourceRow, TargetRow } from '../mapping/compiled-mapping.js';

/**
 * Approximate size of a row, for the byte bounds on queues, batches and statements: a string
 * counts its length (what it holds in memory, roughly), a Buffer twice its length (it is sent as
 * hex), anything else a few bytes. Cheap enough for every row; exact sizes are computed only for
 * the rare row that comes near a hard limit.
 */
export function rowBytes(row: SourceRow | TargetRow | null): number {
  if (row === null) return 0;
  let bytes = 0;
  for (const key in row) {
    const value = row[key];
    bytes += 8;
    if (typeof value === 'string') bytes += value.length;
    else if (Buffer.isBuffer(value)) bytes += value.length * 2;
  }
  return bytes;
}
