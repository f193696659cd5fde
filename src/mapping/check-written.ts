import { type CheckReport, columnList as list, sameColumns } from './check-report.js';
import type { NamedColumn } from './direction-types.js';
import type { ResolvedMapping } from './resolve-mapping.js';
import type { TargetTable } from './tables.js';

/** Inserts must set every NOT NULL column without a default. */
function checkRequired<S, T extends NamedColumn>(
  report: CheckReport,
  { spec, target, written }: ResolvedMapping<S, T>,
): void {
  const missing = (target?.requiredColumns ?? []).filter(
    (name) => !written.has(name.toLowerCase()),
  );
  if (missing.length === 0) return;
  const one = missing.length === 1;
  report.error(
    'NOT_NULL_UNMAPPED',
    'columns',
    `${spec.target} ${one ? 'column' : 'columns'} ${missing.join(', ')} ${one ? 'is' : 'are'} NOT NULL without a default and the mapping does not write ${one ? 'it' : 'them'}: every insert would fail`,
  );
}

/**
 * A row that collides on another unique key: ON DUPLICATE KEY UPDATE (to-mes) overwrites the
 * other row, ON CONFLICT (key) (to-crm) refuses it.
 */
function checkOtherUniqueKeys<S, T extends NamedColumn>(
  report: CheckReport,
  { spec, written, types }: ResolvedMapping<S, T>,
  target: TargetTable<T>,
): void {
  const keyTargets = spec.key.map((entry) => entry.target);
  for (const columns of [target.primaryKey, ...target.uniqueKeys]) {
    if (columns.length === 0 || sameColumns(columns, keyTargets)) continue;
    if (columns.every((column) => written.has(column.toLowerCase()))) {
      report.warn(
        'OTHER_UNIQUE_KEY',
        'key',
        `${spec.target} also has the unique key ${list(columns)}, which the mapping writes: a source row with the same ${list(columns)} as another row ${types.otherUniqueKeyEffect}`,
      );
    }
  }
}

/** What the set of written columns means for inserts and upserts into the target table. */
export function checkWritten<S, T extends NamedColumn>(
  report: CheckReport,
  resolved: ResolvedMapping<S, T>,
): void {
  if (!resolved.target) return;
  checkRequired(report, resolved);
  checkOtherUniqueKeys(report, resolved, resolved.target);
}
