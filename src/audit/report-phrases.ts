import { mappingConsistent } from './audit-report.js';
import type { AuditOutcome, MappingOutcome } from './run-audit.js';

/** Phrases every report form shares, so text, markdown and HTML say the same thing. */

/** `crm_order_id=17`, `(a=1, b=x)` for composite keys. */
export function describeKey(key: Readonly<Record<string, string | null>>): string {
  const parts = Object.entries(key).map(([column, value]) => `${column}=${value ?? 'NULL'}`);
  return parts.length === 1 ? parts[0]! : `(${parts.join(', ')})`;
}

/** A cell value for one line of text: NULL spelt out, controls escaped, long values cut. */
export function describeValue(value: string | null, limit = 80): string {
  if (value === null) return 'NULL';
  const escaped = JSON.stringify(value).slice(1, -1);
  return escaped.length > limit ? `${escaped.slice(0, limit - 1)}…` : escaped;
}

export function mappingStatus(mapping: MappingOutcome): string {
  return mappingConsistent(mapping.report) ? 'OK' : 'DIFFERENT';
}

/** The sentence the report forms use for onDelete: ignore history. */
export function retainedNote(mapping: MappingOutcome): string | undefined {
  if (mapping.onDelete !== 'ignore' || mapping.retained === 0) return undefined;
  return `${mapping.report.name}: ${mapping.retained} target row${mapping.retained === 1 ? '' : 's'} whose source row was deleted ${mapping.retained === 1 ? 'is' : 'are'} kept on purpose (onDelete: ignore keeps history); not counted as extra`;
}

/** One line on how the audit dealt with a live replicator. */
export function settlingNote(outcome: AuditOutcome): string {
  if (!outcome.replicatorActive) {
    return `no replicator active on slot '${outcome.slot}': differences reported as read`;
  }
  const summary = outcome.recheck;
  if (summary === undefined || summary.rounds === 0) {
    return `replicator active on slot '${outcome.slot}': nothing to re-check`;
  }
  const parts = [
    `${summary.resolved} resolved once it caught up`,
    `${summary.confirmed} confirmed`,
  ];
  if (summary.unsettled > 0) {
    parts.push(
      `${summary.unsettled} not settled (${summary.settle === 'inactive' ? 'the replicator stopped' : 'it did not catch up within --settle-timeout'})`,
    );
  }
  return `replicator active on slot '${outcome.slot}': differing keys re-checked after it passed the audit's read position (${parts.join(', ')})`;
}

/** The text with its first letter in upper case, to start a sentence with it. */
export function sentence(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Notes shared by the text, markdown and HTML forms, one sentence each. */
export function notes(outcome: AuditOutcome): string[] {
  const lines: string[] = [];
  for (const mapping of outcome.mappings) {
    const retained = retainedNote(mapping);
    if (retained) lines.push(retained);
    if (mapping.notKept > 0) {
      // With a replicator every difference was re-checked, those beyond the kept ones from disk.
      const how = outcome.replicatorActive
        ? 'counted and re-checked, but not sampled'
        : 'counted, but not re-checked, sampled or repaired one by one';
      lines.push(
        `${mapping.report.name}: ${mapping.notKept} more differences than are kept (${how})`,
      );
    }
  }
  return lines;
}
