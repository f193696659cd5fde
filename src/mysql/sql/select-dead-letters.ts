import { type DeadLetterFilter, deadLetterWhere } from './dead-letter-filter.js';
import type { Statement } from './quote.js';

/** The letters the filter selects, oldest first, at most `limit` of them after id `afterId`. */
export function selectDeadLetters(
  filter: DeadLetterFilter,
  afterId: number,
  limit: number,
): Statement {
  const where = deadLetterWhere(filter);
  return {
    sql:
      'SELECT id, mapping_name, lsn_text, operation, key_values, error, created_at FROM millrace_dead_letters' +
      `${where.sql === '' ? ' WHERE' : `${where.sql} AND`} id > ? ORDER BY id LIMIT ${Math.max(1, Math.floor(limit))}`,
    values: [...where.values, afterId],
  };
}
