import { letterBytes, letterJson, sourceJson } from '../../../writes/dead-letter-json.js';
import type { DeadLetter } from '../../../writes/write-chunk.js';
import { Params, type PgStatement } from './statement.js';

/** Parameters per letter; PostgreSQL allows 65,535 per statement. */
const columnsPerLetter = 7;
const maxLettersPerStatement = Math.floor(65_535 / columnsPerLetter);

/**
 * The letters as INSERT statements into millrace.dead_letters, each within about `budget` bytes
 * and the parameter limit. `positionText` spells a letter's position for operators.
 */
export function* deadLetterStatements(
  letters: readonly DeadLetter[],
  budget: number,
  positionText: (lsn: bigint) => string,
): Generator<PgStatement> {
  let start = 0;
  let bytes = 0;
  for (let index = 0; index < letters.length; index++) {
    const size = letterBytes(letters[index]!);
    const full = index - start >= maxLettersPerStatement || bytes + size > budget;
    if (index > start && full) {
      yield insertDeadLetters(letters.slice(start, index), positionText);
      start = index;
      bytes = 0;
    }
    bytes += size;
  }
  if (start < letters.length) yield insertDeadLetters(letters.slice(start), positionText);
}

function insertDeadLetters(
  letters: readonly DeadLetter[],
  positionText: (lsn: bigint) => string,
): PgStatement {
  const params = new Params();
  const tuples = letters.map(({ origin, key, error }) => {
    const placeholders = [
      origin.mapping,
      origin.lsn === null ? null : origin.lsn.toString(),
      origin.lsn === null ? null : positionText(origin.lsn),
      origin.operation,
      letterJson(key),
      sourceJson(origin.sourceValues),
      // PostgreSQL text cannot hold NUL; an error message quoting a value might.
      error.slice(0, 60_000).replace(/\0/g, '\\0'),
    ].map((value) => params.add(value));
    return `(${placeholders.join(', ')}, clock_timestamp())`;
  });
  return {
    text:
      'INSERT INTO millrace.dead_letters (mapping_name, lsn, lsn_text, operation, key_values, source_values, error, created_at) VALUES ' +
      tuples.join(','),
    values: params.values,
  };
}
