import { to as copyTo } from 'pg-copy-streams';
import { type KeysetPlan, keysetSql } from './keyset-reader.js';
import type { PgClient } from './pg-client.js';

/**
 * A string literal PostgreSQL reads back as exactly `text` whatever standard_conforming_strings
 * says: COPY takes no bind parameters, so a keyset position has to be spelled inline.
 */
function pgLiteral(text: string): string {
  const quoted = `'${text.replace(/'/g, "''")}'`;
  return text.includes('\\') ? `E${quoted.replace(/\\/g, '\\\\')}` : quoted;
}

/**
 * The keyset chunk of `limit` rows after `after` as a COPY: the keyset reader's statement with
 * the position as untyped literals (PostgreSQL gives them the key columns' types, so the
 * comparison is the index's own).
 */
export function copyChunkSql(
  plan: KeysetPlan,
  after: readonly string[] | null,
  limit: number,
): string {
  const count = String(Math.max(1, Math.floor(limit)));
  return `copy (${keysetSql(plan, after === null ? null : after.map(pgLiteral), count)}) to stdout`;
}

/**
 * The bytes of `sql` (a `COPY … TO STDOUT`) as they arrive, in chunks cut anywhere (see
 * CopyTextParser). Iteration pulls the stream, so a slow consumer pauses PostgreSQL.
 */
export function readCopyData(client: PgClient, sql: string): AsyncIterable<Buffer> {
  return client.query(copyTo(sql)) as AsyncIterable<Buffer>;
}
