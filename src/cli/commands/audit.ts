import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatRepairPlan, formatReport, type ReportFormat } from '../../audit/format-report.js';
import { runAudit } from '../../audit/run-audit.js';
import { describeError, ExitCode, RuntimeFailure } from '../../errors/millrace-error.js';
import { createContext } from '../context.js';
import { checkOutputFile, parseRowCount, parseSecondsAsMs, requireCompanion } from '../flags.js';

interface AuditFlags {
  readonly table: string[];
  readonly format: ReportFormat;
  readonly out?: string;
  readonly samples: string;
  readonly settleTimeout: string;
  readonly repair?: boolean;
  readonly dryRun?: boolean;
}

/** The audit's flags, checked before any database is touched. */
function checkFlags(flags: AuditFlags): { samples: number; settleTimeoutMs: number } {
  const samples = parseRowCount('--samples', flags.samples, 20);
  const settleTimeoutMs = parseSecondsAsMs('--settle-timeout', flags.settleTimeout, 30);
  requireCompanion(
    { flag: '--dry-run', set: flags.dryRun === true },
    { flag: '--repair', set: flags.repair === true },
    'millrace audit --repair --dry-run',
  );
  checkOutputFile('--out', flags.out);
  return { samples, settleTimeoutMs };
}

export async function executeAudit(flags: AuditFlags, command: Command): Promise<void> {
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
  if (flags.out === undefined) {
    print(text);
  } else {
    try {
      writeFileSync(flags.out, text);
    } catch (error) {
      throw new RuntimeFailure(
        'OUT_UNWRITABLE',
        `cannot write --out ${flags.out}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    const differing = outcome.report.mappings.filter(
      (mapping) => mapping.missing + mapping.extra + mapping.different > 0,
    ).length;
    print(
      `audit report written to ${flags.out}: ${outcome.report.consistent ? 'consistent' : `differences in ${differing} of ${outcome.report.mappings.length} mappings`}`,
    );
  }
  process.exitCode = outcome.report.consistent ? ExitCode.ok : ExitCode.differences;
}
