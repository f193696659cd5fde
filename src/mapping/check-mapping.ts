import { MappingError } from '../errors/millrace-error.js';
import { checkBookkeeping } from './check-bookkeeping.js';
import { checkColumns } from './check-columns.js';
import { checkFilter } from './check-filter.js';
import { checkKey } from './check-key.js';
import { type CheckReport, createCheckReport } from './check-report.js';
import { checkToastFilter } from './check-toast-filter.js';
import { checkWritten } from './check-written.js';
import { compileMapping } from './compile-mapping.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import type { MappingProblem } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';
import { resolveMapping } from './resolve-mapping.js';
import type { Schemas, SourceTable, TargetTable } from './tables.js';
import { toMesTypes } from './to-mes-types.js';

/** What the compiler still refuses once every check passed, as one more error. */
function checkCompiles<S, T extends NamedColumn>(
  report: CheckReport,
  source: SourceTable<S>,
  target: TargetTable<T>,
  types: DirectionTypes<S, T>,
): void {
  try {
    compileMapping(report.spec, source, target, types);
  } catch (failure) {
    if (!(failure instanceof MappingError)) throw failure;
    const field = failure.context.path as string | undefined;
    report.error(
      'MAPPING_COMPILE',
      field,
      (failure.context.detail as string | undefined) ?? failure.message,
    );
  }
}

/**
 * Proves one loaded mapping against both live schemas and lists every problem: missing tables
 * and columns, a key that is not unique on the target or not carried by the source's replica
 * identity, unsuitable soft-delete and metadata columns, type (in)compatibility, NULLs into NOT
 * NULL columns, other unique keys a row could collide on, filters that TOAST can blind, and
 * TOASTed columns a row entering the filter would lack.
 * When nothing is an error it also compiles the mapping, so `check` passes exactly what `run`
 * accepts.
 */
export function checkMapping(spec: MappingSpec, schemas: Schemas): MappingProblem[];
export function checkMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  schemas: Schemas<S, T>,
  types: DirectionTypes<S, T>,
): MappingProblem[];
export function checkMapping<S, T extends NamedColumn>(
  spec: MappingSpec,
  schemas: Schemas<S, T>,
  types: DirectionTypes<S, T> = toMesTypes as unknown as DirectionTypes<S, T>,
): MappingProblem[] {
  const resolved = resolveMapping(
    spec,
    schemas.source.get(spec.sourceKey),
    schemas.target.get(spec.target),
    { types },
  );
  const report = createCheckReport(spec);
  report.add(resolved.tableProblems);
  checkKey(report, resolved);
  checkColumns(report, resolved);
  checkBookkeeping(report, resolved);
  checkFilter(report, resolved);
  checkToastFilter(report, resolved);
  checkWritten(report, resolved);
  const { source, target } = resolved;
  if (source && target && !report.problems.some((problem) => problem.level === 'error'))
    checkCompiles(report, source, target, types);
  return [...report.problems];
}
