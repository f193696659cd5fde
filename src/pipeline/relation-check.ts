import { RuntimeFailure } from '../errors/millrace-error.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { RelationEvent } from './source-event.js';

/**
 * DDL drift: a Relation message (sent before a table's first change in a session and after its
 * definition changes) shows a mapped column dropped or retyped. The replicator stops before
 * applying any change of that shape.
 */
export function createRelationCheck(
  mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>,
  declaredTypes: ReadonlyMap<string, ReadonlyMap<string, number>>,
): (event: RelationEvent) => void {
  return (event) => {
    const mappings = mappingsByTable.get(event.table);
    if (!mappings) return;
    const expected = declaredTypes.get(event.table);
    const columns = new Map(event.columns.map((column) => [column.name, column.typeOid]));
    for (const mapping of mappings) {
      for (const column of mapping.sourceColumns) {
        const typeOid = columns.get(column);
        const declared = expected?.get(column);
        if (typeOid === undefined) {
          throw drift(mapping, event.table, column, 'was dropped or renamed');
        }
        if (declared !== undefined && typeOid !== declared) {
          throw drift(
            mapping,
            event.table,
            column,
            `changed type (type OID ${declared} → ${typeOid})`,
          );
        }
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
