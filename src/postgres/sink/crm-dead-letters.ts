import {
  type DeadLetterFilter,
  forEachStoredPage,
  type LetterRow,
  type StoredLetter,
} from '../../writes/stored-letters.js';
import type { PgClient } from '../pg-client.js';
import { Params, type PgStatement } from './sql/statement.js';

/** The CRM's millrace.dead_letters (the return path's refused rows), read and pruned by commands. */

function where(filter: DeadLetterFilter, params: Params): string[] {
  const parts: string[] = [];
  if (filter.mappings !== undefined)
    parts.push(`mapping_name = ANY(${params.add(filter.mappings)})`);
  if (filter.ids !== undefined) parts.push(`id = ANY(${params.add(filter.ids)}::bigint[])`);
  if (filter.before !== undefined)
    parts.push(`created_at < ${params.add(filter.before.toISOString())}::timestamptz`);
  return parts;
}

function whereText(parts: readonly string[]): string {
  return parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`;
}

/** Letters the filter selects, oldest first, read `pageSize` at a time by `onPage`. */
export async function forEachCrmLetterPage(
  client: PgClient,
  filter: DeadLetterFilter,
  pageSize: number,
  onPage: (letters: readonly StoredLetter[]) => Promise<void>,
): Promise<void> {
  await forEachStoredPage(
    async (afterId) => {
      const params = new Params();
      const parts = [...where(filter, params), `id > ${params.add(afterId)}`];
      const { rows } = await client.query<LetterRow>(
        `SELECT id::text AS id, mapping_name, lsn_text, operation, key_values, error,
                to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS created_at
           FROM millrace.dead_letters${whereText(parts)} ORDER BY id LIMIT ${Math.max(1, pageSize)}`,
        params.values,
      );
      return rows;
    },
    pageSize,
    onPage,
  );
}

/** Letters per mapping the filter selects. */
export async function countCrmLetters(
  client: PgClient,
  filter: DeadLetterFilter,
): Promise<Map<string, number>> {
  const params = new Params();
  const { rows } = await client.query<{ mapping_name: string; letters: string }>(
    `SELECT mapping_name, count(*)::text AS letters FROM millrace.dead_letters${whereText(where(filter, params))}
      GROUP BY mapping_name ORDER BY mapping_name`,
    params.values,
  );
  return new Map(rows.map((row) => [row.mapping_name, Number(row.letters)]));
}

/** Deletes the letters the filter selects (discard; a retry deletes the ids it replayed). */
export function deleteCrmLetters(filter: DeadLetterFilter): PgStatement {
  const params = new Params();
  return {
    text: `DELETE FROM millrace.dead_letters${whereText(where(filter, params))}`,
    values: params.values,
  };
}

/** Deletes the letters the filter selects; returns how many. */
export async function discardCrmLetters(
  client: PgClient,
  filter: DeadLetterFilter,
): Promise<number> {
  const statement = deleteCrmLetters(filter);
  const result = await client.query(statement.text, statement.values);
  return result.rowCount ?? 0;
}
