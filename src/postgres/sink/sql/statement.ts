import { quotePgIdent } from '../../pg-client.js';

/** A parameterised statement for PostgreSQL (`$1`, `$2`, … in `text`). */
export interface PgStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

/**
 * The parameters of one statement being built: `add` returns the placeholder of a value, so
 * builders can nest (a key predicate inside a DELETE) without counting placeholders themselves.
 */
export class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
}

/**
 * A target table as a to-crm mapping names it, `schema.table`, quoted part by part; a bare name
 * is left to the session's search_path.
 */
export function quoteTargetTable(name: string): string {
  const dot = name.indexOf('.');
  if (dot < 0) return quotePgIdent(name);
  return `${quotePgIdent(name.slice(0, dot))}.${quotePgIdent(name.slice(dot + 1))}`;
}
