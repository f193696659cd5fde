import { type AuditReport, type MappingReport, mappingConsistent } from './audit-report.js';
import { formatRepairText } from './format-repair.js';
import {
  describeKey,
  describeValue,
  mappingStatus,
  notes,
  readPositions,
  settlingNotes,
} from './report-phrases.js';
import type { AuditOutcome } from './run-audit.js';

function table(rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string[] {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows.map((row) =>
    row
      .map((cell, column) =>
        rightAligned.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!),
      )
      .join('  ')
      .trimEnd(),
  );
}

/** The default report form: a summary table per mapping, then the first samples. */
export function formatText(outcome: AuditOutcome): string {
  const { report } = outcome;
  const seconds = outcome.throughput.seconds.toFixed(1);
  const lines: string[] = [
    `millrace audit ${report.startedAt} (${seconds} s), ${readPositions(outcome)
      .map((position) => `${position.label} ${position.value}`)
      .join(', ')}`,
    ...settlingNotes(outcome),
    '',
    ...summaryTable(outcome),
  ];
  const extraNotes = notes(outcome);
  if (extraNotes.length > 0) lines.push('', ...extraNotes);
  for (const mapping of outcome.mappings) {
    if (!mappingConsistent(mapping.report)) lines.push('', ...sampleLines(mapping.report));
  }
  if (outcome.repair) lines.push('', ...formatRepairText(outcome));
  lines.push('', verdictLine(report));
  return `${lines.join('\n')}\n`;
}

function summaryTable(outcome: AuditOutcome): string[] {
  const header = [
    'mapping',
    'source → target',
    'source',
    'target',
    'matched',
    'missing',
    'extra',
    'different',
    'status',
  ];
  const rows = outcome.mappings.map((mapping) => {
    const m = mapping.report;
    return [
      m.name,
      `${m.source} → ${m.target}`,
      String(m.sourceRows),
      String(m.targetRows),
      String(m.matched),
      String(m.missing),
      String(m.extra),
      String(m.different),
      mappingStatus(mapping),
    ];
  });
  return table([header, ...rows], new Set([2, 3, 4, 5, 6, 7]));
}

/** The sample keys of a mapping that differs, per kind. */
function sampleLines(m: MappingReport): string[] {
  const lines: string[] = [];
  const sampled = (shown: number, total: number) =>
    shown < total ? `${total}, first ${shown}` : String(total);
  if (m.missing > 0) {
    lines.push(
      `${m.name}: missing on the target (${sampled(m.samples.missing.length, m.missing)}):`,
    );
    for (const key of m.samples.missing) lines.push(`  ${describeKey(key)}`);
  }
  if (m.extra > 0) {
    lines.push(`${m.name}: extra on the target (${sampled(m.samples.extra.length, m.extra)}):`);
    for (const key of m.samples.extra) lines.push(`  ${describeKey(key)}`);
  }
  if (m.different > 0) {
    lines.push(`${m.name}: different (${sampled(m.samples.different.length, m.different)}):`);
    for (const sample of m.samples.different) {
      lines.push(`  ${describeKey(sample.key)}`);
      for (const [column, cell] of Object.entries(sample.columns)) {
        lines.push(
          `    ${column}: source ${describeValue(cell.source)}, target ${describeValue(cell.target)}`,
        );
      }
    }
  }
  return lines;
}

function verdictLine(report: AuditReport): string {
  if (report.consistent) {
    return `consistent: ${report.mappings.length} mapping${report.mappings.length === 1 ? '' : 's'} match`;
  }
  const differing = report.mappings.filter((mapping) => !mappingConsistent(mapping));
  const total = (field: 'missing' | 'extra' | 'different') =>
    report.mappings.reduce((sum, mapping) => sum + mapping[field], 0);
  return `DIFFERENCES in ${differing.length} of ${report.mappings.length} mappings: ${total('missing')} missing, ${total('extra')} extra, ${total('different')} different`;
}
