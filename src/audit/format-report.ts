import { formatHtml } from './format-html.js';
import { formatMarkdown } from './format-markdown.js';
import { formatRepairText } from './format-repair.js';
import { formatText } from './format-text.js';
import type { AuditOutcome } from './run-audit.js';

const reportFormats = ['text', 'json', 'markdown', 'html'] as const;
export type ReportFormat = (typeof reportFormats)[number];

/** The report in the asked-for form; json is exactly AuditReport's object. */
export function formatReport(outcome: AuditOutcome, format: ReportFormat): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(outcome.report, null, 2)}\n`;
    case 'markdown':
      return formatMarkdown(outcome);
    case 'html':
      return formatHtml(outcome);
    case 'text':
      return formatText(outcome);
  }
}

/**
 * `--repair --dry-run` prints the plan only: as text, or as JSON (one object per mapping with its
 * counts and first steps) for scripts.
 */
export function formatRepairPlan(outcome: AuditOutcome, format: ReportFormat): string {
  if (format === 'json') {
    return `${JSON.stringify(
      {
        dryRun: true,
        consistent: outcome.report.consistent,
        mappings: outcome.repair?.summaries ?? [],
      },
      null,
      2,
    )}\n`;
  }
  return `${formatRepairText(outcome).join('\n')}\n`;
}
