import type { PgClient } from './pg-client.js';
/** The rows of one query, typed as the caller's SELECT list spells them. */
export async function rowsOf<T>(
  client: PgClient,
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
