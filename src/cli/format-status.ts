import { formatReturnStatus } from './return-status.js';
import type { StatusReport } from './status-report.js';

/** `1234567 bytes (1.2 MiB)`: exact for scripts that grep, readable for people. */
function formatBytes(bytes: number | null): string {
  if (bytes === null) return 'unknown';
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = '';
  for (const next of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = next;
  }
  return unit === '' ? `${bytes} bytes` : `${bytes} bytes (${value.toFixed(1)} ${unit})`;
}

/** The CRM half: current position, slot and publication. */
function sourceLines(report: StatusReport): string[] {
  const lines = [`CRM ${report.source}, WAL at ${report.currentLsn}`];
  const slot = report.slot;
  if (!slot.exists) {
    lines.push(`  slot ${slot.name}: missing`);
  } else {
    const state = slot.active ? `active (PID ${slot.activePid ?? 'unknown'})` : 'inactive';
    lines.push(
      `  slot ${slot.name}: ${state}, plugin ${slot.plugin ?? 'none'}, wal_status ${slot.walStatus ?? 'unknown'}`,
    );
    lines.push(
      `    confirmed_flush_lsn ${slot.confirmedFlushLsn ?? 'none'}, restart_lsn ${slot.restartLsn ?? 'none'}`,
    );
    lines.push(
      `    retained WAL ${formatBytes(slot.retainedWalBytes)}, behind the server ${formatBytes(slot.lagBytes)}`,
    );
    if (slot.safeWalSizeBytes !== null)
      lines.push(`    WAL until invalidation ${formatBytes(slot.safeWalSizeBytes)}`);
  }
  const publication = report.publication;
  if (!publication.exists) {
    lines.push(`  publication ${publication.name}: missing`);
  } else {
    const tables = publication.allTables
      ? 'all tables'
      : publication.tables.join(', ') || 'no tables';
    lines.push(
      `  publication ${publication.name}: ${tables}${publication.viaRoot ? ' (via partition root)' : ''}`,
    );
  }
  return lines;
}

/** The MES half: checkpoint and lag, then one table row per mapping. */
function targetLines(report: StatusReport): string[] {
  const lines = [`MES ${report.target}`];
  if (!report.controlTables) {
    lines.push('  control tables: missing');
  } else if (report.checkpoint === null) {
    lines.push('  checkpoint: none yet');
  } else {
    const { checkpoint } = report;
    lines.push(
      `  checkpoint ${checkpoint.lsn} at ${checkpoint.updatedAt} (${checkpoint.lagSeconds.toFixed(1)} s ago)`,
    );
    lines.push(`  lag ${formatBytes(checkpoint.lagBytes)} of CRM WAL`);
  }
  if (report.mappings.length > 0) lines.push(...mappingTable(report.mappings));
  if (report.deadLettersTotal !== null && report.deadLettersTotal > 0) {
    lines.push(`  dead letters in all: ${report.deadLettersTotal} (table millrace_dead_letters)`);
  }
  return lines;
}

function mappingTable(mappings: StatusReport['mappings']): string[] {
  const header = ['MAPPING', 'SOURCE', 'TARGET', 'ROWS', 'DEAD LETTERS'];
  const rows = mappings.map((mapping) => [
    mapping.name,
    mapping.source,
    mapping.target,
    mapping.targetRows === null ? 'missing' : String(mapping.targetRows),
    mapping.deadLetters === null ? '-' : String(mapping.deadLetters),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  return [header, ...rows].map((row) =>
    `  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd(),
  );
}

/** `status` as text: one fact per line, warnings last. */
export function formatStatus(report: StatusReport): string {
  return [
    ...sourceLines(report),
    ...targetLines(report),
    ...(report.returnPath ? formatReturnStatus(report.returnPath) : []),
    ...report.warnings.map((warning) => `warning: ${warning}`),
  ].join('\n');
}
