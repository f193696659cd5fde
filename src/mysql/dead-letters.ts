import {
  type DeadLetterFilter,
  forEachStoredPage,
  type LetterRow,
  type StoredLetter,
} from '../writes/stored-letters.js';
import type { MysqlConnection } from './mysql-client.js';
import { countDeadLetters } from './sql/count-dead-letters.js';
import { deleteDeadLetters } from './sql/delete-dead-letters.js';
import type { Statement } from './sql/quote.js';
import { selectDeadLetters } from './sql/select-dead-letters.js';

export type { StoredLetter };

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
  await forEachStoredPage(
    async (afterId) =>
      (await run(connection, selectDeadLetters(filter, afterId, pageSize))) as LetterRow[],
    pageSize,
    onPage,
  );
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
