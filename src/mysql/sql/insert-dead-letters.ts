import { formatLsn } from '../../util/lsn.js';
import type { DeadLetter } from '../../writes/write-chunk.js';
import { tupleLiteral } from './literal.js';
import type { Statement } from './quote.js';

/** JSON for a dead letter's values: Buffers as hex, the UNCHANGED sentinel spelled out. */
function toJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) => {
    if (typeof item === 'bigint') return item.toString();
    if (typeof item === 'symbol') return { unchanged: true };
    if (item && typeof item === 'object' && (item as { type?: string }).type === 'Buffer') {
      return `\\x${Buffer.from((item as { data: number[] }).data).toString('hex')}`;
    }
    return item;
  });
}

/**
 * Source values kept with a letter, at most this long as JSON: a row too wide for the MES must
 * not make its own dead letter too wide too. The key always stays, and a replay re-reads the
 * source row by it.
 */
const maxSourceJson = 256 * 1024;

function sourceJson(values: Readonly<Record<string, unknown>> | null): string {
  if (values === null) return 'null';
  // Symbols are skipped by JSON.stringify as object values: spell them out first.
  const plain: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(values))
    plain[column] = typeof value === 'symbol' ? { unchanged: true } : value;
  const json = toJson(plain);
  return json.length <= maxSourceJson ? json : toJson({ omitted: `${json.length} characters` });
}

/** The letters as INSERT statements, each holding about `budget` bytes at most. */
export function* deadLetterStatements(
  letters: readonly DeadLetter[],
  budget: number,
): Generator<Statement> {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < letters.length; index++) {
    const size = 1_024 + Math.min(maxSourceJson, letterBytes(letters[index]!));
    if (index > start && bytes + size > budget) {
      yield insertDeadLetters(letters.slice(start, index));
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < letters.length) yield insertDeadLetters(letters.slice(start));
}

function letterBytes(letter: DeadLetter): number {
  let bytes = letter.error.length;
  for (const value of Object.values(letter.origin.sourceValues ?? {})) {
    if (typeof value === 'string') bytes += value.length;
  }
  return bytes;
}

function insertDeadLetters(letters: readonly DeadLetter[]): Statement {
  const rows = letters.map((letter) => {
    const { origin } = letter;
    const values = tupleLiteral([
      origin.mapping,
      origin.lsn,
      origin.lsn === null ? null : formatLsn(origin.lsn),
      origin.operation,
      toJson(letter.key),
      sourceJson(origin.sourceValues),
      letter.error.slice(0, 60_000),
    ]);
    return `${values.slice(0, -1)},UTC_TIMESTAMP(6))`;
  });
  return {
    sql: `INSERT INTO millrace_dead_letters (mapping_name, lsn, lsn_text, operation, key_values, source_values, error, created_at) VALUES ${rows.join(',')}`,
    values: [],
  };
}
