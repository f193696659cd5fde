import type { CheckReport } from './check-report.js';
import type { ResolvedBookkeeping, ResolvedMapping } from './resolve-mapping.js';

function checkOne<T>(report: CheckReport, part: ResolvedBookkeeping<T> | undefined, code: string) {
  if (part === undefined) return;
  report.add(part.problems);
  if (part.made && !part.made.ok) report.error(code, part.field, part.made.reason);
}

/** Soft-delete and metadata columns: they exist and their types hold what millrace writes. */
export function checkBookkeeping(report: CheckReport, resolved: ResolvedMapping): void {
  checkOne(report, resolved.flag, 'SOFT_DELETE_TYPE');
  checkOne(report, resolved.deletedAt, 'SOFT_DELETE_TYPE');
  checkOne(report, resolved.lsn, 'METADATA_TYPE');
  checkOne(report, resolved.syncedAt, 'METADATA_TYPE');
}
