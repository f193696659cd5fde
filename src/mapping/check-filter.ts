import type { CheckReport } from './check-report.js';
import { mayBeToasted } from './check-toast-filter.js';
import { describeSourceType } from './describe-type.js';
import type { ResolvedCondition, ResolvedMapping } from './resolve-mapping.js';
import type { SourceColumn } from './tables.js';
import { valueOrder } from './value-order.js';

function checkLiterals(
  report: CheckReport,
  { condition }: ResolvedCondition,
  column: SourceColumn,
) {
  if (condition.op === 'isNull') return;
  const order = valueOrder(column.type);
  const literals =
    typeof condition.value === 'string'
      ? [condition.value]
      : (condition.value as readonly string[]);
  for (const literal of literals) {
    if (order.key(literal) === undefined) {
      report.error(
        'FILTER_LITERAL',
        condition.field,
        `'${literal}' is not ${order.expects} (${condition.column} is ${describeSourceType(column.type)})`,
      );
    }
  }
}

/** Filter: columns exist, literals are values of the column's type, TOAST can hide the column. */
export function checkFilter(report: CheckReport, { spec, source, filter }: ResolvedMapping): void {
  const toastWarned = new Set<string>();
  for (const resolved of filter) {
    report.add(resolved.problems);
    const { condition, column } = resolved;
    if (!column || !source) continue;
    checkLiterals(report, resolved, column);
    if (
      mayBeToasted(column) &&
      source.replicaIdentity !== 'f' &&
      !toastWarned.has(condition.column)
    ) {
      toastWarned.add(condition.column);
      report.warn(
        'FILTER_TOAST',
        resolved.columnField,
        `the filter reads ${condition.column} (${describeSourceType(column.type)}), which PostgreSQL may store out of line (TOAST); an UPDATE that does not change it does not carry it, so the filter cannot be decided for that row; \`millrace setup\` sets REPLICA IDENTITY FULL on ${spec.sourceKey} (or run ALTER TABLE ${spec.sourceKey} REPLICA IDENTITY FULL)`,
      );
    }
  }
}
