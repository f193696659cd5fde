import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { type Command, Option } from 'commander';
import type { AuditReport } from '../../audit/audit-report.js';
import {
  formatRepairPlan,
  formatReport,
  type ReportFormat,
  reportFormats,
} from '../../audit/format-report.js';
import { runAudit } from '../../audit/run-audit.js';
import {
  describeError,
  ExitCode,
  RuntimeFailure,
  UsageError,
} from '../../errors/millrace-error.js';
import { createContext } from '../context.js';

interface AuditFlags {
  readonly table: string[];
  readonly format: ReportFormat;
  readonly out?: string;
  readonly samples: string;
  readonly settleTimeout: string;
  readonly repair?: boolean;
  readonly dryRun?: boolean;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** All argument checks in one place, with the fix in the message. */
function checkFlags(flags: AuditFlags): { samples: number; settleTimeoutMs: number } {
  const samples = Number(flags.samples);
  if (!Number.isInteger(samples) || samples < 0) {
    throw new UsageError(
      'USAGE',
      `invalid --samples: expected a whole number of rows like 20 (got '${flags.samples}')`,
    );
  }
  const settle = Number(flags.settleTimeout);
  if (!Number.isFinite(settle) || settle < 0) {
    throw new UsageError(
      'USAGE',
      `invalid --settle-timeout: expected a number of seconds like 30 (got '${flags.settleTimeout}')`,
    );
  }
  if (flags.dryRun && !flags.repair) {
    throw new UsageError(
      'USAGE',
      '--dry-run only goes with --repair (millrace audit --repair --dry-run)',
    );
  }
  if (flags.out !== undefined) {
    const directory = path.dirname(path.resolve(flags.out));
    if (!existsSync(directory) || !statSync(directory).isDirectory()) {
      throw new UsageError('USAGE', `invalid --out: directory ${directory} does not exist`);
    }
  }
  return { samples, settleTimeoutMs: Math.round(settle * 1000) };
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
        '(bounded by --settle-timeout), so changes in flight are not reported. Each run is stored in ' +
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
        'report form: a text summary, JSON (DESIGN.md shape), markdown for CI comments, a self-contained HTML page',
      )
        .choices([...reportFormats])
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
  millrace audit --format json > audit.json          # for scripts (DESIGN.md shape)
  millrace audit --format markdown --out audit.md    # for a CI comment
  millrace audit --format html --out audit.html      # one page, opens offline
  millrace audit --repair --dry-run                  # what a repair would write
  millrace audit --repair                            # fix the MES, then re-check`,
    )
    .action(auditAction);
}

async function auditAction(flags: AuditFlags, command: Command): Promise<void> {
  const { samples, settleTimeoutMs } = checkFlags(flags);
  const { config, logger, print } = createContext(command);
  const outcome = await runAudit({
    sourceUrl: config.sourceUrl,
    targetUrl: config.targetUrl,
    mappingsDir: config.mappingsDir,
    slot: config.slot,
    tables: flags.table,
    samples,
    settleTimeoutMs,
    repair: flags.repair === true,
    dryRun: flags.dryRun === true,
    connectTimeoutMs: config.connectTimeoutMs,
    logger,
  });
  const text =
    flags.repair && flags.dryRun
      ? formatRepairPlan(outcome, flags.format)
      : formatReport(outcome, flags.format);
  if (flags.out === undefined) print(text);
  else print(writeReport(flags.out, text, outcome.report));
  process.exitCode = outcome.report.consistent ? ExitCode.ok : ExitCode.differences;
}

/** Writes the report to `--out`; returns the line that says where it went. */
function writeReport(out: string, text: string, report: AuditReport): string {
  try {
    writeFileSync(out, text);
  } catch (error) {
    throw new RuntimeFailure(
      'OUT_UNWRITABLE',
      `cannot write --out ${out}: ${describeError(error)}`,
      {
        cause: error,
      },
    );
  }
  const differing = report.mappings.filter(
    (mapping) => mapping.missing + mapping.extra + mapping.different > 0,
  ).length;
  return `audit report written to ${out}: ${report.consistent ? 'consistent' : `differences in ${differing} of ${report.mappings.length} mappings`}`;
}
