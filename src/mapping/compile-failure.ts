import { describeError, MappingError } from '../errors/millrace-error.js';
import type { SourceType, TargetColumn } from '../values/column-types.js';
import { type Conversion, compileConversion } from '../values/compile-conversion.js';
import { describeSourceType } from './describe-type.js';
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
export function convertOrFail(
  spec: MappingSpec,
  source: SourceType | 'text',
  target: TargetColumn,
  field: string,
): Conversion {
  try {
    return compileConversion(source, target, { mapping: spec.name, column: target.name });
  } catch (error) {
    const from = source === 'text' ? 'text' : describeSourceType(source);
    return failCompile(
      spec,
      field,
      `cannot convert ${from} to ${target.columnType}: ${describeError(error)}`,
      error,
    );
  }
}
