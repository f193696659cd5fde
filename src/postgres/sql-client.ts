/**
 * The slice of `pg.Client` that setup, teardown and status use: structural, so tests can hand in
 * a fake that answers catalog queries (the wal_level check cannot be exercised on a shared server).
 */
export interface SqlClient {
  query(text: string, values?: readonly unknown[]): Promise<{ rows: unknown[] }>;
}

/** The rows of one query, typed as the caller's SELECT list spells them. */
export async function rowsOf<T>(
  client: SqlClient,
  text: string,
  values?: readonly unknown[],
): Promise<T[]> {
  const result = await client.query(text, values);
  return result.rows as T[];
}

/**
 * A boolean column. millrace's clients read every value in PostgreSQL's text form (`t`/`f`, see
 * pg-client.ts), while a fake or a default-typed client may hand back real booleans.
 */
export function pgBool(value: unknown): boolean {
  return value === true || value === 't';
}

/** The SQLSTATE of a server error, if it is one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
