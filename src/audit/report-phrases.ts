import { mappingConsistent } from './audit-report.js';
import type { RecheckSummary } from './recheck.js';
import type { AuditOutcome, MappingOutcome } from './run-audit.js';
import type { ReturnStanding } from './to-crm/audit-to-crm.js';

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

/** Whether the audit compared to-mes mappings (the forward read position and slot apply). */
function auditedForward(outcome: AuditOutcome): boolean {
  return outcome.returnPath === undefined || outcome.readLsn !== null;
}

/**
 * Where each direction's reads started, as label and value (`CRM read position`, `0/16B3748`):
 * the CRM's LSN for to-mes mappings, the MES binlog file and offset for to-crm ones.
 */
export function readPositions(outcome: AuditOutcome): { label: string; value: string }[] {
  const positions: { label: string; value: string }[] = [];
  if (auditedForward(outcome)) {
    positions.push({ label: 'CRM read position', value: outcome.readLsn ?? 'unknown' });
  }
  if (outcome.returnPath !== undefined) {
    positions.push({ label: 'MES read position', value: outcome.returnPath.readPosition });
  }
  return positions;
}

/** How the audit dealt with live replication, one sentence per direction audited. */
export function settlingNotes(outcome: AuditOutcome): string[] {
  const lines = auditedForward(outcome) ? [settlingNote(outcome)] : [];
  if (outcome.returnPath !== undefined) lines.push(returnSettlingNote(outcome.returnPath));
  return lines;
}

function returnSettlingNote(standing: ReturnStanding): string {
  const stream = `the to-crm stream '${standing.stream}'`;
  if (!standing.active) return `no run replicates ${stream}: differences reported as read`;
  const summary = standing.recheck;
  if (summary === undefined || summary.rounds === 0) return `${stream} runs: nothing to re-check`;
  return `${stream} runs: differing keys re-checked after it passed the audit's MES read position (${recheckParts(summary, 'the stream stopped').join(', ')})`;
}

function recheckParts(summary: RecheckSummary, stopped: string): string[] {
  const parts = [
    `${summary.resolved} resolved once it caught up`,
    `${summary.confirmed} confirmed`,
  ];
  if (summary.unsettled > 0) {
    parts.push(
      `${summary.unsettled} not settled (${summary.settle === 'inactive' ? stopped : 'it did not catch up within --settle-timeout'})`,
    );
  }
  return parts;
}

/** One line on how the audit dealt with a live replicator. */
function settlingNote(outcome: AuditOutcome): string {
  if (!outcome.replicatorActive) {
    return `no replicator active on slot '${outcome.slot}': differences reported as read`;
  }
  const summary = outcome.recheck;
  if (summary === undefined || summary.rounds === 0) {
    return `replicator active on slot '${outcome.slot}': nothing to re-check`;
  }
  const parts = recheckParts(summary, 'the replicator stopped');
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
