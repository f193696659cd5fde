/** Quotes a MySQL identifier. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/**
 * A statement: SQL text, with `?` placeholders for mysql2's client-side formatting when
 * `values` is not empty (the writer's own statements carry their values as literals instead).
 */
export interface Statement {
  readonly sql: string;
  readonly values: readonly unknown[];
}

/** The text around a comma-separated list (rows, keys) that makes a multi-row statement. */
export interface ListFrame {
  readonly head: string;
  readonly tail: string;
}
