import type { MysqlConnection } from './mysql-client.js';
import { countDeadLetters } from './sql/count-dead-letters.js';
import type { DeadLetterFilter } from './sql/dead-letter-filter.js';
import { deleteDeadLetters } from './sql/delete-dead-letters.js';
import type { Statement } from './sql/quote.js';
import { selectDeadLetters } from './sql/select-dead-letters.js';

/** One row of millrace_dead_letters, as the commands show and replay it. */
export interface StoredLetter {
  readonly id: number;
  readonly mapping: string;
  /** The source transaction's commit LSN (`X/Y`); null for backfill and repair writes. */
  readonly lsn: string | null;
  readonly operation: string;
  /** Target key column → value, as recorded. */
  readonly key: Readonly<Record<string, string | number | null>>;
  readonly error: string;
  /** When it was recorded, ISO 8601 in UTC. */
  readonly createdAt: string;
}

interface LetterRow {
  id: number | string;
  mapping_name: string;
  lsn_text: string | null;
  operation: string;
  key_values: string;
  error: string;
  created_at: string | Date;
}

function toLetter(row: LetterRow): StoredLetter {
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

async function run(connection: MysqlConnection, statement: Statement): Promise<unknown> {
  const [result] = await connection.query(statement.sql, [...statement.values]);
  return result;
}

/** Letters the filter selects, oldest first, read `pageSize` at a time by `onPage`. */
export async function forEachLetterPage(
  connection: MysqlConnection,
  filter: DeadLetterFilter,
  pageSize: number,
  onPage: (letters: readonly StoredLetter[]) => Promise<void>,
): Promise<void> {
  let afterId = 0;
  for (;;) {
    const rows = (await run(
      connection,
      selectDeadLetters(filter, afterId, pageSize),
    )) as LetterRow[];
    if (rows.length === 0) return;
    await onPage(rows.map(toLetter));
    afterId = Number(rows.at(-1)!.id);
    if (rows.length < pageSize) return;
  }
}

/** Letters per mapping the filter selects. */
export async function countLetters(
  connection: MysqlConnection,
  filter: DeadLetterFilter,
): Promise<Map<string, number>> {
  const rows = (await run(connection, countDeadLetters(filter))) as {
    mapping_name: string;
    letters: number | string;
  }[];
  return new Map(rows.map((row) => [row.mapping_name, Number(row.letters)]));
}

/** Deletes the letters the filter selects; returns how many. */
export async function discardLetters(
  connection: MysqlConnection,
  filter: DeadLetterFilter,
): Promise<number> {
  const result = (await run(connection, deleteDeadLetters(filter))) as { affectedRows?: number };
  return result.affectedRows ?? 0;
}
