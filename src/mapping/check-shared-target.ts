import type { RowOwner } from './compiled-mapping.js';
import { type MappingProblem, problemAt } from './mapping-problem.js';
import type { MappingSpec } from './mapping-spec.js';

/**
 * Who owns the rows of a target table several mappings write. Each mapping may remove only rows
 * it wrote, and the target must be able to tell them apart:
 * - two mappings of one source table into one target table are refused: a row one admits and
 *   the other's filter rejects would be upserted by one and deleted by the other, whatever the
 *   order (one mapping whose filter joins both with `any:` says the same thing, correctly);
 * - mappings of different source tables into one target table (fan-in) must each set one target
 *   column to a `const`, the same column in all of them with a distinct value: its owner column.
 *   Their deletes, soft deletes and TRUNCATEs are then scoped to rows holding their value.
 * Returns the mappings that pass, those of a shared table carrying their `owner`.
 */
export function checkSharedTargets(
  specs: readonly MappingSpec[],
  problems: MappingProblem[],
): MappingSpec[] {
  const groups = new Map<string, MappingSpec[]>();
  const accepted: MappingSpec[] = [];
  for (const spec of specs) {
    const group = groups.get(spec.target) ?? [];
    const problem = sharingProblem(spec, group);
    if (problem !== undefined) {
      problems.push(problemAt(spec, 'error', problem.code, problem.field, problem.message));
      continue;
    }
    group.push(spec);
    groups.set(spec.target, group);
    accepted.push(spec);
  }
  return accepted.map((spec) => {
    const group = groups.get(spec.target)!;
    if (group.length < 2) return spec;
    const column = ownerColumn(group)!;
    const owner: RowOwner = Object.freeze({ column, value: constOf(spec, column)! });
    return Object.freeze({ ...spec, owner });
  });
}

interface SharingProblem {
  readonly code: string;
  readonly field: string;
  readonly message: string;
}

/** Why `spec` cannot join the mappings already accepted into its target table. */
function sharingProblem(
  spec: MappingSpec,
  group: readonly MappingSpec[],
): SharingProblem | undefined {
  if (group.length === 0) return undefined;
  const same = group.find((other) => other.sourceKey === spec.sourceKey);
  if (same) {
    return {
      code: 'SHARED_TARGET_SAME_SOURCE',
      field: 'target',
      message: `mapping ${same.name} (${same.file}) also maps ${spec.sourceKey} into ${spec.target}: two mappings of one source table into one target table delete each other's rows (an update one admits and the other's filter rejects is written by one and removed by the other); use one mapping whose filter joins both with any:`,
    };
  }
  if (ownerColumn([...group, spec]) !== undefined) return undefined;
  const others = group.map((other) => `${other.name} (${other.file}, from ${other.sourceKey})`);
  return {
    code: 'SHARED_TARGET_NO_OWNER',
    field: 'columns',
    message: `target table ${spec.target} is also written by mapping ${others.join(', ')}: mappings of several source tables into one target table must each set the same column to a different const (e.g. source_system: { const: ORDERS } here and { const: RETURNS } there), so that each one's deletes and TRUNCATEs remove only its own rows`,
  };
}

/**
 * The first target column (in the first mapping's order) that every mapping of the group sets to
 * a non-null `const`, with no value repeated; undefined when there is none.
 */
function ownerColumn(group: readonly MappingSpec[]): string | undefined {
  for (const { target } of group[0]!.columns) {
    const values = group.map((spec) => constOf(spec, target));
    if (values.some((value) => value === undefined)) continue;
    if (new Set(values).size === values.length) return target;
  }
  return undefined;
}

/** The non-null `const` the mapping writes into `column` (names compare as MySQL's do). */
function constOf(spec: MappingSpec, column: string): string | undefined {
  const entry = spec.columns.find(
    (candidate) => candidate.target.toLowerCase() === column.toLowerCase(),
  );
  if (entry?.rule.kind !== 'const' || entry.rule.value === null) return undefined;
  return entry.rule.value;
}
