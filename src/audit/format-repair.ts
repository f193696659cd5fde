import { describeKey } from './report-phrases.js';
import type { AuditOutcome } from './run-audit.js';

/** The repair section: what was (or, with --dry-run, would be) written. */
export function formatRepairText(outcome: AuditOutcome): string[] {
  const repair = outcome.repair;
  if (repair === undefined) return [];
  const lines = [repair.dryRun ? 'repair plan (--dry-run: nothing written):' : 'repaired:'];
  if (repair.summaries.length === 0) lines.push('  nothing to repair');
  for (const summary of repair.summaries) {
    const verb = repair.dryRun ? 'would ' : '';
    lines.push(
      `  ${summary.mapping}: ${verb}upsert ${summary.upsertedMissing} missing and ${summary.upsertedDifferent} different, ${verb}delete ${summary.deleted}, ${verb}soft-delete ${summary.softDeleted}` +
        (summary.skipped > 0
          ? `, skip ${summary.skipped} (source value cannot be converted)`
          : '') +
        (summary.deadLetters > 0
          ? `, ${summary.deadLetters} refused by the target (millrace_dead_letters)`
          : ''),
    );
    for (const step of summary.steps) {
      lines.push(
        `    ${step.action} ${describeKey(step.key)} (${step.reason})${step.note ? `: ${step.note}` : ''}`,
      );
    }
  }
  return lines;
}
