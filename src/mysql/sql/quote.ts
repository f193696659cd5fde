/** Quotes a MySQL identifier. */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** A parameterised statement for mysql2's client-side formatting. */
export interface Statement {
  readonly sql: string;
  readonly values: readonly unknown[];
}
