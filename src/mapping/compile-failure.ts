import { describeError, MappingError } from '../errors/millrace-error.js';
import type { Conversion } from '../values/compile-conversion.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import { formatProblem, problemAt } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';

/** Stops compiling: MappingError naming file, mapping and field (`detail` is the bare message). */
export function failCompile(
  spec: MappingSpec,
  field: string | undefined,
  message: string,
  cause?: unknown,
): never {
  const problem = problemAt(spec, 'error', 'MAPPING_COMPILE', field, message);
  throw new MappingError('MAPPING_COMPILE', formatProblem(problem), {
    ...(cause === undefined ? {} : { cause }),
    context: { file: spec.file, mapping: spec.name, path: field, detail: message },
  });
}

/** The conversion of `source` values into `target`, or the compile failure of the pair. */
export function convertOrFail<S, T extends NamedColumn>(
  spec: MappingSpec,
  types: DirectionTypes<S, T>,
  source: S | 'text',
  target: T,
  field: string,
): Conversion {
  try {
    return types.compile(source, target, { mapping: spec.name, column: target.name });
  } catch (error) {
    const from = source === 'text' ? 'text' : types.describeSource(source);
    return failCompile(
      spec,
      field,
      `cannot convert ${from} to ${types.describeTarget(target)}: ${describeError(error)}`,
      error,
    );
  }
}
