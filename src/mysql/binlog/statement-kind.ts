/** What a statement event of the binlog means for the return path. */
export type StatementKind = 'begin' | 'end' | 'savepoint' | 'dml' | 'other';

/**
 * A Query event's statement by its first words. In row format these are BEGIN, the COMMIT or
 * ROLLBACK closing a non-transactional group, SAVEPOINT, and DDL; a data change arriving as a
 * statement means a session wrote in statement format.
 */
export function statementKind(sql: string): StatementKind {
  const head = sql.trimStart().slice(0, 24).toUpperCase();
  if (head.startsWith('BEGIN') || head.startsWith('XA START')) return 'begin';
  if (head === 'COMMIT' || head === 'ROLLBACK' || /^(COMMIT|ROLLBACK)\s*$/.test(head)) return 'end';
  if (
    head.startsWith('SAVEPOINT') ||
    head.startsWith('ROLLBACK TO') ||
    head.startsWith('RELEASE SAVEPOINT')
  ) {
    return 'savepoint';
  }
  if (/^(INSERT|UPDATE|DELETE|REPLACE|LOAD\s+DATA)\b/.test(head)) return 'dml';
  return 'other';
}

/** The table a `TRUNCATE [TABLE] [db.]name` empties (a DDL statement in every binlog format). */
export function truncatedTable(
  sql: string,
  defaultSchema: string,
): { readonly schema: string; readonly table: string } | undefined {
  const name = '(?:`((?:[^`]|``)+)`|([\\w$]+))';
  const match = new RegExp(
    `^\\s*TRUNCATE\\s+(?:TABLE\\s+)?(?:${name}\\s*\\.\\s*)?${name}\\s*;?\\s*$`,
    'i',
  ).exec(sql);
  if (!match) return undefined;
  const unquote = (quoted?: string, bare?: string) => (quoted ? quoted.replace(/``/g, '`') : bare);
  const schema = unquote(match[1], match[2]) ?? defaultSchema;
  const table = unquote(match[3], match[4]);
  return table ? { schema, table } : undefined;
}
