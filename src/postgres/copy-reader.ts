import { StringDecoder } from 'node:string_decoder';
import { to as copyTo } from 'pg-copy-streams';
import { type KeysetPlan, keysetSql } from './keyset-reader.js';
import type { PgClient } from './pg-client.js';

/** One row of a COPY, in the plan's column order: PostgreSQL's text form of each value. */
export type CopyRow = (string | null)[];

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

const escapes: Readonly<Record<string, string>> = {
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
  v: '\v',
};

/**
 * A COPY text field without its escapes. COPY TO only ever writes a backslash before another
 * backslash and before the letters of these control characters (never octal or hex bytes).
 */
function unescapeField(field: string): string {
  if (!field.includes('\\')) return field;
  return field.replace(/\\(.)/gs, (_, next: string) => escapes[next] ?? next);
}

/** The rows of complete COPY text lines (the text holds whole lines without the last newline). */
function parseLines(text: string, rows: CopyRow[]): void {
  for (const line of text.split('\n')) {
    const fields = line.split('\t');
    const row: CopyRow = new Array(fields.length);
    for (let index = 0; index < fields.length; index++) {
      const field = fields[index]!;
      row[index] = field === '\\N' ? null : unescapeField(field);
    }
    rows.push(row);
  }
}

/**
 * Reads `sql` (a `COPY … TO STDOUT` in text format) as batches of rows, one batch per network
 * chunk: the values are exactly the text forms a row-by-row read returns (the session's settings
 * fix them), without a row object per value on the way. Iteration pulls the stream, so a slow
 * consumer pauses PostgreSQL.
 */
export async function* readCopyRows(client: PgClient, sql: string): AsyncGenerator<CopyRow[]> {
  const stream = client.query(copyTo(sql));
  const decoder = new StringDecoder('utf8');
  let carry = '';
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const text = carry + decoder.write(chunk);
    const last = text.lastIndexOf('\n');
    if (last === -1) {
      carry = text;
      continue;
    }
    carry = text.slice(last + 1);
    const rows: CopyRow[] = [];
    parseLines(text.slice(0, last), rows);
    yield rows;
  }
  // COPY ends every row with a newline: anything after the last one is not a row.
  if (carry + decoder.end() !== '') throw new Error('COPY output ended inside a row');
}
