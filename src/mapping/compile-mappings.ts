import type { SourceType, TargetColumn } from '../values/column-types.js';
import { checkMapping } from './check-mapping.js';
import { compileMapping } from './compile-mapping.js';
import type { CompiledMapping } from './compiled-mapping.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import { type MappingProblem, mappingErrorOf } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';
import type { Schemas } from './tables.js';
import { toMesTypes } from './to-mes-types.js';

interface CompileMappingsOptions<S, T extends NamedColumn> {
  /** The direction's column types (toCrmTypes for to-crm mappings); the to-mes ones when absent. */
  readonly types?: DirectionTypes<S, T>;
  /** Called for each warning `mappings check` would print (the mappings still compile). */
  readonly onWarning?: (problem: MappingProblem) => void;
}

/**
 * Compiles every mapping against the live schemas, for commands that run them (run, backfill,
 * audit). The same checks as `mappings check` apply: any error throws one MappingError (exit 2)
 * naming file, mapping and field of the first, so nothing runs on a mapping `check` refuses.
 */
export function compileMappings(
  specs: readonly MappingSpec[],
  schemas: Schemas,
  options?: CompileMappingsOptions<SourceType, TargetColumn>,
): readonly CompiledMapping[];
export function compileMappings<S, T extends NamedColumn>(
  specs: readonly MappingSpec[],
  schemas: Schemas<S, T>,
  options: CompileMappingsOptions<S, T> & { readonly types: DirectionTypes<S, T> },
): readonly CompiledMapping[];
export function compileMappings<S, T extends NamedColumn>(
  specs: readonly MappingSpec[],
  schemas: Schemas<S, T>,
  options: CompileMappingsOptions<S, T> = {},
): readonly CompiledMapping[] {
  const types = options.types ?? (toMesTypes as unknown as DirectionTypes<S, T>);
  const problems = specs.flatMap((spec) => checkMapping(spec, schemas, types));
  const errors = problems.filter((problem) => problem.level === 'error');
  if (errors.length > 0) throw mappingErrorOf(errors, 'MAPPING_SCHEMA_MISMATCH');
  for (const problem of problems) options.onWarning?.(problem);
  const compiled = specs.map((spec) =>
    compileMapping(
      spec,
      schemas.source.get(spec.sourceKey)!,
      schemas.target.get(spec.target)!,
      types,
    ),
  );
  return Object.freeze(compiled);
}
