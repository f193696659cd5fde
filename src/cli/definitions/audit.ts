import { type Command, Option } from 'commander';
import type { ReportFormat } from '../../audit/format-report.js';
import { lazyAction } from '../lazy-action.js';

/**
 * Spelled out rather than imported so `--help` does not load the report formatters; `satisfies`
 * fails the build if this list and `ReportFormat` ever differ.
 */
const reportFormats = Object.keys({
  text: true,
  json: true,
  markdown: true,
  html: true,
} satisfies Record<ReportFormat, true>);

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerAudit(program: Command): void {
  program
    .command('audit')
    .summary('compare CRM and MES through the mappings (exit 1 when they differ)')
    .description(
      'Compare every source row the mappings select with the MES staging rows, through the same ' +
        'compiled mappings and value conversions as the replicator: rows missing on the MES, extra ' +
        'rows, and rows whose values differ (column by column). When a replicator is active on the ' +
        'slot, differing keys are re-checked once it has applied everything the audit read ' +
        '(bounded by --settle-timeout), so changes in flight are not reported. to-crm mappings are ' +
        'compared the other way round (MES rows through the mapping against the CRM table, in ' +
        'PostgreSQL), re-checked against the return stream when it runs. Each run is stored in ' +
        'millrace_audit_runs. Exit 0 consistent, 1 differences, 2 bad usage or mapping, 3 runtime failure.',
    )
    .option(
      '--table <name>',
      'audit only this mapping (name, source or target table); repeatable',
      collect,
      [],
    )
    .addOption(
      new Option(
        '--format <format>',
        'report form: a text summary, JSON for scripts, markdown for CI comments, a self-contained HTML page',
      )
        .choices(reportFormats)
        .default('text'),
    )
    .option('--out <file>', 'write the report to this file instead of stdout')
    .option('--samples <n>', 'sample keys per kind and mapping in the report', '20')
    .option(
      '--settle-timeout <seconds>',
      'how long differing keys may wait for a live replicator to catch up, in seconds',
      '30',
    )
    .option(
      '--repair',
      "re-apply the source's truth for differing keys through the writer, then re-check them",
    )
    .option('--dry-run', 'with --repair: print the repair plan, write nothing')
    .addHelpText(
      'after',
      `
Examples:
  millrace audit                                     # text summary; exit 1 when anything differs
  millrace audit --table production_orders --samples 5
  millrace audit --table work_orders                 # a to-crm mapping: MES vs CRM
  millrace audit --format json > audit.json          # one object, for scripts
  millrace audit --format markdown --out audit.md    # for a CI comment
  millrace audit --format html --out audit.html      # one page, opens offline
  millrace audit --repair --dry-run                  # what a repair would write
  millrace audit --repair                            # fix the MES, then re-check`,
    )
    .action(lazyAction(async () => (await import('../commands/audit.js')).executeAudit));
}
