import type { DeadLetterFilter } from '../../writes/stored-letters.js';

export type { DeadLetterFilter };

/** The filter as a WHERE clause (empty when it selects every letter) and its parameters. */
export function deadLetterWhere(filter: DeadLetterFilter): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  if (filter.mappings !== undefined) {
    parts.push(filter.mappings.length === 0 ? 'FALSE' : 'mapping_name IN (?)');
    if (filter.mappings.length > 0) values.push([...filter.mappings]);
  }
  if (filter.ids !== undefined) {
    parts.push(filter.ids.length === 0 ? 'FALSE' : 'id IN (?)');
    if (filter.ids.length > 0) values.push([...filter.ids]);
  }
  if (filter.before !== undefined) {
    // created_at is UTC (UTC_TIMESTAMP(6)): compare with the moment's UTC spelling.
    parts.push('created_at < ?');
    values.push(filter.before.toISOString().replace('T', ' ').replace('Z', ''));
  }
  return { sql: parts.length === 0 ? '' : ` WHERE ${parts.join(' AND ')}`, values };
}
