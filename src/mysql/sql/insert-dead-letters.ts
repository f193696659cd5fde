import { formatLsn } from '../../util/lsn.js';
import { letterBytes, letterJson, sourceJson } from '../../writes/dead-letter-json.js';
import type { DeadLetter } from '../../writes/write-chunk.js';
import { tupleLiteral } from './literal.js';
import type { Statement } from './quote.js';

/** The letters as INSERT statements, each holding about `budget` bytes at most. */
export function* deadLetterStatements(
  letters: readonly DeadLetter[],
  budget: number,
): Generator<Statement> {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < letters.length; index++) {
    const size = letterBytes(letters[index]!);
    if (index > start && bytes + size > budget) {
      yield insertDeadLetters(letters.slice(start, index));
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < letters.length) yield insertDeadLetters(letters.slice(start));
}

function insertDeadLetters(letters: readonly DeadLetter[]): Statement {
  const rows = letters.map((letter) => {
    const { origin } = letter;
    const values = tupleLiteral([
      origin.mapping,
      origin.lsn,
      origin.lsn === null ? null : formatLsn(origin.lsn),
      origin.operation,
      letterJson(letter.key),
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
