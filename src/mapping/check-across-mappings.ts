import { checkSharedTargets } from './check-shared-target.js';
import { type MappingProblem, problemAt } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';

/**
 * Checks that need every mapping: unique names, one key per target table (several mappings may
 * write one table, but rows must meet on the same key), and who owns a shared table's rows.
 * Returns the mappings that pass.
 */
export function checkAcrossMappings(
  specs: readonly MappingSpec[],
  problems: MappingProblem[],
): MappingSpec[] {
  const byName = new Map<string, MappingSpec>();
  const byTarget = new Map<string, MappingSpec>();
  const accepted: MappingSpec[] = [];
  const keyOf = (spec: MappingSpec) =>
    spec.key
      .map((entry) => entry.target.toLowerCase())
      .sort()
      .join(', ');
  for (const spec of specs) {
    const problem = (code: string, field: string, message: string) =>
      problems.push(problemAt(spec, 'error', code, field, message));
    const sameName = byName.get(spec.name);
    if (sameName) {
      problem(
        'DUPLICATE_NAME',
        'name',
        `duplicate mapping name (also in ${sameName.file}); names must be unique`,
      );
      continue;
    }
    const sameTarget = byTarget.get(spec.target);
    if (sameTarget && keyOf(sameTarget) !== keyOf(spec)) {
      problem(
        'KEY_CONFLICT',
        'key',
        `target table ${spec.target} is also written by mapping ${sameTarget.name} (${sameTarget.file}) with key (${keyOf(sameTarget)}); mappings writing one table must use the same key, not (${keyOf(spec)})`,
      );
      continue;
    }
    byName.set(spec.name, spec);
    if (!sameTarget) byTarget.set(spec.target, spec);
    accepted.push(spec);
  }
  return checkSharedTargets(accepted, problems);
}
