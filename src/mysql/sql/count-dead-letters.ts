import { type DeadLetterFilter, deadLetterWhere } from './dead-letter-filter.js';
import type { Statement } from './quote.js';

/** How many letters the filter selects, per mapping. */
export function countDeadLetters(filter: DeadLetterFilter): Statement {
  const where = deadLetterWhere(filter);
  return {
    sql: `SELECT mapping_name, COUNT(*) AS letters FROM millrace_dead_letters${where.sql} GROUP BY mapping_name ORDER BY mapping_name`,
    values: where.values,
  };
}
