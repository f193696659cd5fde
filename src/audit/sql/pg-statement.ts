/** A statement for `pg`, with positional parameters. */
export interface PgStatement {
  readonly text: string;
  readonly values: readonly unknown[];
}

export interface SourceTableRef {
  readonly schema: string;
  readonly table: string;
}
