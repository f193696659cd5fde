/**
 * Dead letters as stored: the same columns in the MES's millrace_dead_letters and the CRM's
 * millrace.dead_letters, so the commands list, retry and discard both alike.
 */

/** Which dead letters a command works on; every field left out means "any". */
export interface DeadLetterFilter {
  /** Letters of these mappings only. */
  readonly mappings?: readonly string[];
  /** Letters with these ids only. */
  readonly ids?: readonly number[];
  /** Letters recorded before this moment only. */
  readonly before?: Date;
}

/** One row of a dead letters table (the MES's or the CRM's), as the commands show and replay it. */
export interface StoredLetter {
  readonly id: number;
  readonly mapping: string;
  /**
   * The source position: a commit LSN (`X/Y`), or a binlog `file:offset` for the return path;
   * null for backfill and repair writes of the forward direction.
   */
  readonly lsn: string | null;
  readonly operation: string;
  /** Target key column → value, as recorded. */
  readonly key: Readonly<Record<string, string | number | null>>;
  readonly error: string;
  /** When it was recorded, ISO 8601 in UTC. */
  readonly createdAt: string;
}

/** A letter as either database returns it. */
export interface LetterRow {
  id: number | string;
  mapping_name: string;
  lsn_text: string | null;
  operation: string;
  key_values: string;
  error: string;
  created_at: string | Date;
}

export function toLetter(row: LetterRow): StoredLetter {
  const created =
    row.created_at instanceof Date
      ? row.created_at.toISOString()
      : `${String(row.created_at).replace(' ', 'T')}Z`;
  let key: StoredLetter['key'];
  try {
    key = JSON.parse(row.key_values) as StoredLetter['key'];
  } catch {
    key = {};
  }
  return Object.freeze({
    id: Number(row.id),
    mapping: row.mapping_name,
    lsn: row.lsn_text,
    operation: row.operation,
    key,
    error: row.error,
    createdAt: created,
  });
}

/**
 * Walks letters oldest first, `pageSize` at a time, by id: `readPage` answers the rows after an
 * id (at most `pageSize`), in id order.
 */
export async function forEachStoredPage(
  readPage: (afterId: number) => Promise<readonly LetterRow[]>,
  pageSize: number,
  onPage: (letters: readonly StoredLetter[]) => Promise<void>,
): Promise<void> {
  let afterId = 0;
  for (;;) {
    const rows = await readPage(afterId);
    if (rows.length === 0) return;
    await onPage(rows.map(toLetter));
    afterId = Number(rows.at(-1)!.id);
    if (rows.length < pageSize) return;
  }
}
