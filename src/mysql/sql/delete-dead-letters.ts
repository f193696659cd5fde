import { type DeadLetterFilter, deadLetterWhere } from './dead-letter-filter.js';
import type { Statement } from './quote.js';

/** Deletes the letters the filter selects (discard; a retry deletes the ids it replayed). */
export function deleteDeadLetters(filter: DeadLetterFilter): Statement {
  const where = deadLetterWhere(filter);
  return { sql: `DELETE FROM millrace_dead_letters${where.sql}`, values: where.values };
}
