import { formatLsn } from '../../util/lsn.js';
import type { DeadLetter } from '../../writes/write-chunk.js';
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

function sourceJson(values: Readonly<Record<string, unknown>> | null): string {
  if (values === null) return 'null';
  // Symbols are skipped by JSON.stringify as object values: spell them out first.
  const plain: Record<string, unknown> = {};
  for (const [column, value] of Object.entries(values))
    plain[column] = typeof value === 'symbol' ? { unchanged: true } : value;
  return toJson(plain);
}

export function insertDeadLetters(letters: readonly DeadLetter[]): Statement {
  const values: unknown[] = [];
  for (const letter of letters) {
    const { origin } = letter;
    values.push(
      origin.mapping,
      origin.lsn === null ? null : origin.lsn.toString(),
      origin.lsn === null ? null : formatLsn(origin.lsn),
      origin.operation,
      toJson(letter.key),
      sourceJson(origin.sourceValues),
      letter.error.slice(0, 60_000),
    );
  }
  return {
    sql:
      'INSERT INTO millrace_dead_letters (mapping_name, lsn, lsn_text, operation, key_values, source_values, error, created_at) VALUES ' +
      letters.map(() => '(?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6))').join(','),
    values,
  };
}
