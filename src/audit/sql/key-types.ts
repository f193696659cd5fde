import type { PgStatement, SourceTableRef } from './pg-statement.js';

/** The declared SQL types of some source columns (`integer`, `character varying(40)`, a domain), to cast lookup parameters to. */
export function selectColumnTypes(table: SourceTableRef, columns: readonly string[]): PgStatement {
  return {
    text: `SELECT a.attname AS name, format_type(a.atttypid, NULL) AS type
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = ANY($3::text[])
              AND a.attnum > 0 AND NOT a.attisdropped`,
    values: [table.schema, table.table, [...columns]],
  };
}
