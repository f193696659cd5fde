import type { CheckReport } from './check-report.js';
import type { NamedColumn } from './direction-types.js';
import type { ResolvedBookkeeping, ResolvedMapping } from './resolve-mapping.js';

function checkOne<V, T>(
  report: CheckReport,
  part: ResolvedBookkeeping<V, T> | undefined,
  code: string,
) {
  if (part === undefined) return;
  report.add(part.problems);
  if (part.made && !part.made.ok) report.error(code, part.field, part.made.reason);
}

/** Soft-delete and metadata columns: they exist and their types hold what millrace writes. */
export function checkBookkeeping<S, T extends NamedColumn>(
  report: CheckReport,
  resolved: ResolvedMapping<S, T>,
): void {
  checkOne(report, resolved.flag, 'SOFT_DELETE_TYPE');
  checkOne(report, resolved.deletedAt, 'SOFT_DELETE_TYPE');
  checkOne(report, resolved.lsn, 'METADATA_TYPE');
  checkOne(report, resolved.syncedAt, 'METADATA_TYPE');
}
