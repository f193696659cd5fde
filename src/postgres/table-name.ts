/** A source table as a mapping names it. */
export interface TableName {
  readonly schema: string;
  readonly table: string;
}

/** `schema.table`, unquoted, the way mappings and messages spell it. */
export function tableLabel(table: TableName): string {
  return `${table.schema}.${table.table}`;
}

/** Keeps the first occurrence of each `schema.table`: several mappings may read one table. */
export function distinctTables(tables: readonly TableName[]): readonly TableName[] {
  const seen = new Map<string, TableName>();
  for (const table of tables) {
    const label = tableLabel(table);
    if (!seen.has(label)) seen.set(label, { schema: table.schema, table: table.table });
  }
  return [...seen.values()];
}
