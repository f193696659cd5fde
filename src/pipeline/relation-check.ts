import { RuntimeFailure } from '../errors/millrace-error.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { RelationEvent } from './source-event.js';

/** Column name → type OID of one table. */
export type TableTypes = ReadonlyMap<string, number>;

interface RelationCheckOptions {
  readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  /** The source columns' types the mappings were compiled against, per `schema.table`. */
  readonly compiledTypes: ReadonlyMap<string, TableTypes>;
  /** The table's columns as the catalog has them now. */
  readonly readCurrentTypes: (table: string) => Promise<TableTypes>;
}

/**
 * DDL drift, told apart from history. pgoutput decodes each change with the table's definition
 * as of that change, and a Relation message announces each definition (before a table's first
 * change in a session, and after every change of it). A mapped column that a Relation lacks, or
 * carries with another type, is drift only if the catalog agrees *now*: replaying changes made
 * before an `ADD COLUMN` shows an older definition, and those changes simply lack the column
 * (the writes leave it out, as for an unchanged TOAST value). A real drop or retype stops the
 * replicator before any change of that shape is applied; so does a type that changed since the
 * mappings were compiled (their conversions would be stale after a reconnect).
 */
export function createRelationCheck(
  options: RelationCheckOptions,
): (event: RelationEvent) => Promise<void> {
  return async (event) => {
    const mappings = options.mappingsByTable.get(event.table);
    if (!mappings) return;
    const compiled = options.compiledTypes.get(event.table);
    const announced = new Map(event.columns.map((column) => [column.name, column.typeOid]));
    let current: TableTypes | undefined;
    for (const mapping of mappings) {
      for (const column of mapping.sourceColumns) {
        const expected = compiled?.get(column);
        const typeOid = announced.get(column);
        if (typeOid !== undefined && (expected === undefined || typeOid === expected)) continue;
        current ??= await options.readCurrentTypes(event.table);
        const now = current.get(column);
        if (now === undefined) throw drift(mapping, event.table, column, 'was dropped or renamed');
        if (expected !== undefined && now !== expected) {
          throw drift(mapping, event.table, column, `changed type (type OID ${expected} → ${now})`);
        }
        // The catalog still has the column as compiled: this Relation is an older definition.
      }
    }
  };
}

function drift(
  mapping: CompiledMapping,
  table: string,
  column: string,
  what: string,
): RuntimeFailure {
  return new RuntimeFailure(
    'DDL_DRIFT',
    `mapping ${mapping.name} (${mapping.file}): source column ${table}.${column} ${what}; stopped before applying it. ` +
      'Fix the mapping or the schema, check with `millrace mappings check`, then start again',
    { context: { mapping: mapping.name, table, column } },
  );
}
