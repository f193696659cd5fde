import type { CheckReport } from './check-report.js';
import { mayBeToasted } from './check-toast-filter.js';
import type { DirectionTypes, NamedColumn } from './direction-types.js';
import type { ResolvedCondition, ResolvedMapping } from './resolve-mapping.js';
import type { SourceColumn } from './tables.js';

function checkLiterals<S, T extends NamedColumn>(
  report: CheckReport,
  types: DirectionTypes<S, T>,
  { condition }: ResolvedCondition<S>,
  column: SourceColumn<S>,
) {
  if (condition.op === 'isNull') return;
  const order = types.sourceOrder(column.type);
  const literals =
    typeof condition.value === 'string'
      ? [condition.value]
      : (condition.value as readonly string[]);
  for (const literal of literals) {
    if (order.key(literal) === undefined) {
      report.error(
        'FILTER_LITERAL',
        condition.field,
        `'${literal}' is not ${order.expects} (${condition.column} is ${types.describeSource(column.type)})`,
      );
    }
  }
}

/** Filter: columns exist, literals are values of the column's type, TOAST can hide the column. */
export function checkFilter<S, T extends NamedColumn>(
  report: CheckReport,
  { spec, source, filter, types }: ResolvedMapping<S, T>,
): void {
  const toastWarned = new Set<string>();
  for (const resolved of filter) {
    report.add(resolved.problems);
    const { condition, column } = resolved;
    if (!column || !source) continue;
    checkLiterals(report, types, resolved, column);
    if (
      mayBeToasted(column) &&
      source.replicaIdentity !== 'f' &&
      !toastWarned.has(condition.column)
    ) {
      toastWarned.add(condition.column);
      report.warn(
        'FILTER_TOAST',
        resolved.columnField,
        `the filter reads ${condition.column} (${types.describeSource(column.type)}), which PostgreSQL may store out of line (TOAST); an UPDATE that does not change it does not carry it, so the filter cannot be decided for that row; \`millrace setup\` sets REPLICA IDENTITY FULL on ${spec.sourceKey} (or run ALTER TABLE ${spec.sourceKey} REPLICA IDENTITY FULL)`,
      );
    }
  }
}
