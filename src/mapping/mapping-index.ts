import { UsageError } from '../errors/millrace-error.js';
import type { CompiledMapping } from './compiled-mapping.js';
import type { MappingSpec } from './mapping-spec.js';

/**
 * Mappings by source table (`schema.table`), for routing changes: one source table may feed
 * several mappings (fan-out), kept in load order.
 */
export function indexMappingsBySource(
  mappings: readonly CompiledMapping[],
): ReadonlyMap<string, readonly CompiledMapping[]> {
  const index = new Map<string, CompiledMapping[]>();
  for (const mapping of mappings) {
    const list = index.get(mapping.sourceKey);
    if (list) list.push(mapping);
    else index.set(mapping.sourceKey, [mapping]);
  }
  for (const [key, list] of index) index.set(key, Object.freeze(list) as CompiledMapping[]);
  return index;
}

/**
 * `--table NAME` (repeatable): a name matches a mapping's name, its source table
 * (`schema.table`, or the table alone) or its target table. No names: every mapping. A name that
 * matches nothing is a usage error, not an empty run.
 */
export function selectMappings<T extends Pick<MappingSpec, 'name' | 'sourceKey' | 'target'>>(
  mappings: readonly T[],
  names: readonly string[],
): readonly T[] {
  if (names.length === 0) return mappings;
  const matches = (mapping: T, name: string) =>
    mapping.name === name ||
    mapping.sourceKey === name ||
    mapping.sourceKey.slice(mapping.sourceKey.indexOf('.') + 1) === name ||
    mapping.target === name;
  for (const name of names) {
    if (!mappings.some((mapping) => matches(mapping, name))) {
      throw new UsageError(
        'TABLE_UNKNOWN',
        `--table ${name} matches no mapping (known: ${mappings.map((mapping) => mapping.name).join(', ')})`,
      );
    }
  }
  return mappings.filter((mapping) => names.some((name) => matches(mapping, name)));
}

/** The tables the mappings read and write, for introspecting just those. */
export function mappedTables(specs: readonly Pick<MappingSpec, 'source' | 'target'>[]): {
  readonly source: readonly { readonly schema: string; readonly table: string }[];
  readonly target: readonly string[];
} {
  const source = new Map<string, { schema: string; table: string }>();
  for (const spec of specs) source.set(`${spec.source.schema}.${spec.source.table}`, spec.source);
  return { source: [...source.values()], target: [...new Set(specs.map((spec) => spec.target))] };
}

/** The tables to-crm mappings read (bare MES table names) and write (CRM `schema.table`). */
export function mappedCrmTables(specs: readonly Pick<MappingSpec, 'sourceKey' | 'target'>[]): {
  readonly source: readonly string[];
  readonly target: readonly { readonly schema: string; readonly table: string }[];
} {
  const targets = [...new Set(specs.map((spec) => spec.target))].map((target) => {
    const dot = target.indexOf('.');
    return { schema: target.slice(0, dot), table: target.slice(dot + 1) };
  });
  return { source: [...new Set(specs.map((spec) => spec.sourceKey))], target: targets };
}
