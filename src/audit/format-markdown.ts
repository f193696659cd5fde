import { mappingConsistent } from './audit-report.js';
import { formatRepairText } from './format-repair.js';
import {
  describeKey,
  describeValue,
  notes,
  readPositions,
  sentence,
  settlingNotes,
} from './report-phrases.js';
import type { AuditOutcome } from './run-audit.js';

/** Text for a table cell or inline code: pipes and backticks would end them early. */
function cell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function code(text: string): string {
  const fence = text.includes('`') ? '`` ' : '`';
  const close = text.includes('`') ? ' ``' : '`';
  return `${fence}${cell(text)}${close}`;
}

/** The report as GitHub-flavoured markdown, for a CI comment. */
export function formatMarkdown(outcome: AuditOutcome): string {
  const { report } = outcome;
  const lines: string[] = [];
  lines.push(
    report.consistent
      ? '## millrace audit: ✅ consistent'
      : '## millrace audit: ❌ differences found',
  );
  lines.push('');
  lines.push(
    `Started ${report.startedAt}, finished ${report.finishedAt}; ${readPositions(outcome)
      .map((position) => `${position.label} ${code(position.value)}`)
      .join(', ')}. ${settlingNotes(outcome)
      .map((note) => `${cell(sentence(note))}.`)
      .join(' ')}`,
  );
  lines.push('');
  lines.push(
    '| Mapping | Source → target | Source rows | Target rows | Matched | Missing | Extra | Different | Status |',
  );
  lines.push('|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const mapping of outcome.mappings) {
    const m = mapping.report;
    const status = mappingConsistent(m) ? '✅ OK' : '❌ DIFFERENT';
    lines.push(
      `| ${code(m.name)} | ${code(m.source)} → ${code(m.target)} | ${m.sourceRows} | ${m.targetRows} | ${m.matched} | ${m.missing} | ${m.extra} | ${m.different} | ${status} |`,
    );
  }
  const extraNotes = notes(outcome);
  if (extraNotes.length > 0) {
    lines.push('');
    for (const note of extraNotes) lines.push(`- ${cell(note)}`);
  }
  for (const mapping of outcome.mappings) {
    const m = mapping.report;
    if (mappingConsistent(m)) continue;
    lines.push('');
    lines.push(
      `<details><summary>${m.name}: ${m.missing} missing, ${m.extra} extra, ${m.different} different</summary>`,
    );
    lines.push('');
    if (m.samples.missing.length > 0) {
      lines.push(
        `**Missing on the target** (${m.samples.missing.length} of ${m.missing}): ${m.samples.missing.map((key) => code(describeKey(key))).join(', ')}`,
      );
      lines.push('');
    }
    if (m.samples.extra.length > 0) {
      lines.push(
        `**Extra on the target** (${m.samples.extra.length} of ${m.extra}): ${m.samples.extra.map((key) => code(describeKey(key))).join(', ')}`,
      );
      lines.push('');
    }
    if (m.samples.different.length > 0) {
      lines.push(`**Different** (${m.samples.different.length} of ${m.different}):`);
      lines.push('');
      lines.push('| Key | Column | Source | Target |');
      lines.push('|---|---|---|---|');
      for (const sample of m.samples.different) {
        for (const [column, difference] of Object.entries(sample.columns)) {
          lines.push(
            `| ${code(describeKey(sample.key))} | ${code(column)} | ${code(describeValue(difference.source))} | ${code(describeValue(difference.target))} |`,
          );
        }
      }
      lines.push('');
    }
    lines.push('</details>');
  }
  if (outcome.repair) {
    lines.push('');
    lines.push('```');
    lines.push(...formatRepairText(outcome));
    lines.push('```');
  }
  return `${lines.join('\n')}\n`;
}
