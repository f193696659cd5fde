import type { PgClient } from './pg-client.js';

/**
 * The declared type OID of every column of the given tables (`schema.table` → column → OID).
 * pgoutput's Relation messages carry these (a domain's own OID, not its base type), so DDL
 * drift is detected by comparing against them.
 */
export async function readDeclaredTypes(
  client: PgClient,
  tables: readonly string[],
): Promise<Map<string, Map<string, number>>> {
  const result = await client.query<{ table_name: string; column_name: string; type_oid: string }>(
    `select n.nspname || '.' || c.relname as table_name, a.attname as column_name, a.atttypid::int8 as type_oid
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where a.attnum > 0 and not a.attisdropped
        and n.nspname || '.' || c.relname = any($1::text[])`,
    [tables],
  );
  const types = new Map<string, Map<string, number>>();
  for (const row of result.rows) {
    let columns = types.get(row.table_name);
    if (!columns) {
      columns = new Map();
      types.set(row.table_name, columns);
    }
    columns.set(row.column_name, Number(row.type_oid));
  }
  return types;
}

/** The server's current WAL insert position, for lag. */
export async function readCurrentWalLsn(client: PgClient): Promise<string> {
  const result = await client.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
  return result.rows[0]!.lsn;
}
