import type { Command } from 'commander';
import { redact } from '../../config/redact.js';
import { describeError } from '../../errors/millrace-error.js';
import { readMappings } from '../../mapping/load-mappings.js';
import { formatProblem } from '../../mapping/mapping-problem.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import { connectTarget, type MysqlConnection, quoteMysqlIdent } from '../../mysql/mysql-client.js';
import { connectSource } from '../../postgres/pg-client.js';
import {
  readSourceStatus,
  type SlotStatus,
  type SourceStatus,
} from '../../postgres/slot-status.js';
import { parseLsn } from '../../util/lsn.js';
import { createContext } from '../context.js';

/** The `status --json` document. Byte counts and seconds are numbers; LSNs keep PostgreSQL's spelling. */
export interface StatusReport {
  readonly source: string;
  readonly target: string;
  /** The CRM's current WAL position. */
  readonly currentLsn: string;
  readonly slot:
    | ({ readonly exists: true } & Omit<SlotStatus, 'name'> & { readonly name: string })
    | {
        readonly name: string;
        readonly exists: false;
      };
  readonly publication:
    | {
        readonly name: string;
        readonly exists: true;
        readonly allTables: boolean;
        readonly viaRoot: boolean;
        readonly tables: readonly string[];
      }
    | { readonly name: string; readonly exists: false };
  /** Whether millrace's control tables exist on the MES (`millrace migrate` creates them). */
  readonly controlTables: boolean;
  readonly checkpoint: {
    readonly lsn: string;
    readonly updatedAt: string;
    /** CRM WAL written since the checkpoint, in bytes. */
    readonly lagBytes: number;
    /** Time since the checkpoint was last written, in seconds. */
    readonly lagSeconds: number;
  } | null;
  readonly mappings: readonly MappingStatus[];
  /** Dead letters of every mapping, including ones no longer in the mappings directory; null without control tables. */
  readonly deadLettersTotal: number | null;
  /** What needs attention, each with its fix. */
  readonly warnings: readonly string[];
}

export interface MappingStatus {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  /** Rows in the target table; null when the table does not exist. */
  readonly targetRows: number | null;
  /** Rows in millrace_dead_letters for this mapping; null without control tables. */
  readonly deadLetters: number | null;
}

export async function executeStatus(options: { json?: boolean }, command: Command): Promise<void> {
  const { config, logger, print } = createContext(command);
  const warnings: string[] = [];
  const specs = readSpecs(config.mappingsDir, warnings);
  const names = { slot: config.slot, publication: config.publication };
  const pg = await connectSource({
    url: config.sourceUrl,
    timeoutMs: config.connectTimeoutMs,
    logger,
    applicationName: 'millrace status',
  });
  try {
    const source = await readSourceStatus(pg, names);
    const mysql = await connectTarget({
      url: config.targetUrl,
      timeoutMs: config.connectTimeoutMs,
      logger,
    });
    try {
      const target = await readTargetStatus(mysql, config.slot, specs);
      const report = buildStatusReport({
        source,
        target,
        specs,
        names,
        sourceUrl: redact(config.sourceUrl),
        targetUrl: redact(config.targetUrl),
        warnings,
      });
      print(options.json === true ? JSON.stringify(report, null, 2) : formatStatus(report));
    } finally {
      await mysql.end().catch(() => undefined);
    }
  } finally {
    await pg.end().catch(() => undefined);
  }
}

/** The valid mappings; a broken mappings directory becomes a warning, since status is for diagnosis. */
function readSpecs(dir: string, warnings: string[]): readonly MappingSpec[] {
  try {
    const loaded = readMappings(dir);
    const errors = loaded.problems.filter((problem) => problem.level === 'error');
    if (errors.length > 0) {
      warnings.push(
        `${errors.length} mapping problem${errors.length > 1 ? 's' : ''}, first: ${formatProblem(errors[0]!)} (run millrace mappings check)`,
      );
    }
    return loaded.specs;
  } catch (error) {
    warnings.push(describeError(error));
    return [];
  }
}

// ---------------------------------------------------------------------------------------------
// MES side. Plain reads kept next to their only user; nothing here writes.
// ---------------------------------------------------------------------------------------------

export interface TargetStatus {
  readonly controlTables: boolean;
  readonly missingControlTables: readonly string[];
  readonly checkpoint: {
    readonly lsn: bigint;
    readonly lsnText: string;
    readonly updatedAt: string;
    readonly ageSeconds: number;
  } | null;
  /** Target table → row count; absent when the table does not exist. */
  readonly rowCounts: ReadonlyMap<string, number>;
  /** Mapping name → dead letters; empty without control tables. */
  readonly deadLetters: ReadonlyMap<string, number>;
}

const controlTableNames = ['millrace_checkpoints', 'millrace_dead_letters'] as const;

async function queryRows<T>(
  connection: MysqlConnection,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const [rows] = await connection.query(sql, values);
  return rows as T[];
}

export async function readTargetStatus(
  connection: MysqlConnection,
  slot: string,
  specs: readonly MappingSpec[],
): Promise<TargetStatus> {
  const targets = [...new Set(specs.map((spec) => spec.target))];
  const existing = await queryRows<{ name: string }>(
    connection,
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)',
    [[...controlTableNames, ...targets]],
  );
  // Table names compare case-insensitively on some servers (lower_case_table_names).
  const present = new Set(existing.map((row) => row.name.toLowerCase()));
  const missingControlTables = controlTableNames.filter((name) => !present.has(name));
  const rowCounts = new Map<string, number>();
  for (const target of targets) {
    if (!present.has(target.toLowerCase())) continue;
    const [row] = await queryRows<{ n: string | number }>(
      connection,
      `SELECT COUNT(*) AS n FROM ${quoteMysqlIdent(target)}`,
    );
    rowCounts.set(target, Number(row?.n ?? 0));
  }
  let checkpoint: TargetStatus['checkpoint'] = null;
  if (present.has('millrace_checkpoints')) {
    const [row] = await queryRows<{
      lsn: string;
      lsn_text: string;
      updated_at: string;
      age_us: string | number;
    }>(
      connection,
      // The age is computed by the MES itself, so a skewed clock on this host cannot distort it.
      `SELECT CAST(lsn AS CHAR) AS lsn, lsn_text, updated_at,
              TIMESTAMPDIFF(MICROSECOND, updated_at, UTC_TIMESTAMP(6)) AS age_us
         FROM millrace_checkpoints WHERE slot_name = ?`,
      [slot],
    );
    if (row !== undefined) {
      checkpoint = {
        lsn: BigInt(row.lsn),
        lsnText: row.lsn_text,
        updatedAt: `${String(row.updated_at).replace(' ', 'T')}Z`,
        ageSeconds: Math.max(0, Number(row.age_us) / 1e6),
      };
    }
  }
  const deadLetters = new Map<string, number>();
  if (present.has('millrace_dead_letters')) {
    const rows = await queryRows<{ name: string; n: string | number }>(
      connection,
      'SELECT mapping_name AS name, COUNT(*) AS n FROM millrace_dead_letters GROUP BY mapping_name',
    );
    for (const row of rows) deadLetters.set(row.name, Number(row.n));
  }
  return {
    controlTables: missingControlTables.length === 0,
    missingControlTables,
    checkpoint,
    rowCounts,
    deadLetters,
  };
}

// ---------------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------------

export interface StatusInput {
  readonly source: SourceStatus;
  readonly target: TargetStatus;
  readonly specs: readonly MappingSpec[];
  readonly names: { readonly slot: string; readonly publication: string };
  readonly sourceUrl: string;
  readonly targetUrl: string;
  /** Warnings found earlier (mappings). */
  readonly warnings: readonly string[];
}

/** Combines both sides into the report, with a warning and its fix for everything missing or wrong. */
export function buildStatusReport(input: StatusInput): StatusReport {
  const { source, target, names } = input;
  const warnings = [...input.warnings];
  const slot = source.slot;
  if (slot === undefined) {
    warnings.push(`replication slot ${names.slot} does not exist: run millrace setup`);
  } else {
    if (slot.walStatus === 'lost') {
      warnings.push(
        `replication slot ${names.slot} was invalidated (WAL removed): run millrace teardown --yes, setup, then backfill --restart`,
      );
    } else if (slot.walStatus === 'unreserved') {
      warnings.push(
        `replication slot ${names.slot} is about to be invalidated (wal_status unreserved): start millrace run`,
      );
    }
    if (!slot.inThisDatabase) {
      warnings.push(
        `replication slot ${names.slot} belongs to database ${slot.database ?? 'none'}, not the one --source names: choose another --slot`,
      );
    }
    if (slot.plugin !== 'pgoutput') {
      warnings.push(
        `replication slot ${names.slot} uses plugin ${slot.plugin ?? 'none'}, not pgoutput: it is not millrace's`,
      );
    }
  }
  if (source.publication === undefined) {
    warnings.push(`publication ${names.publication} does not exist: run millrace setup`);
  } else {
    const published = new Set(source.publication.tables);
    const unpublished = [...new Set(input.specs.map((spec) => spec.sourceKey))].filter(
      (table) => !published.has(table),
    );
    if (!source.publication.allTables && unpublished.length > 0) {
      warnings.push(
        `mapped ${unpublished.join(', ')} not in publication ${names.publication}: run millrace setup`,
      );
    }
  }
  if (!target.controlTables) {
    warnings.push(
      `control tables ${target.missingControlTables.join(', ')} missing on the MES: run millrace migrate`,
    );
  } else if (target.checkpoint === null) {
    warnings.push(
      `no checkpoint for slot ${names.slot} yet: nothing replicated (millrace run writes it)`,
    );
  }
  const current = parseLsn(source.currentLsn);
  const checkpoint =
    target.checkpoint === null
      ? null
      : {
          lsn: target.checkpoint.lsnText,
          updatedAt: target.checkpoint.updatedAt,
          lagBytes: current > target.checkpoint.lsn ? Number(current - target.checkpoint.lsn) : 0,
          lagSeconds: Math.round(target.checkpoint.ageSeconds * 1000) / 1000,
        };
  const mappings = input.specs.map((spec) => {
    if (!target.rowCounts.has(spec.target)) {
      warnings.push(
        `target table ${spec.target} of mapping ${spec.name} does not exist: create it in a staging migration and run millrace migrate`,
      );
    }
    return {
      name: spec.name,
      source: spec.sourceKey,
      target: spec.target,
      targetRows: target.rowCounts.get(spec.target) ?? null,
      deadLetters: target.controlTables ? (target.deadLetters.get(spec.name) ?? 0) : null,
    };
  });
  const deadLettersTotal = target.controlTables
    ? [...target.deadLetters.values()].reduce((a, b) => a + b, 0)
    : null;
  return {
    source: input.sourceUrl,
    target: input.targetUrl,
    currentLsn: source.currentLsn,
    slot:
      slot === undefined
        ? { name: names.slot, exists: false }
        : { ...slot, name: names.slot, exists: true },
    publication:
      source.publication === undefined
        ? { name: names.publication, exists: false }
        : {
            name: names.publication,
            exists: true,
            allTables: source.publication.allTables,
            viaRoot: source.publication.viaRoot,
            tables: source.publication.tables,
          },
    controlTables: target.controlTables,
    checkpoint,
    mappings,
    deadLettersTotal,
    warnings,
  };
}

/** `1234567 bytes (1.2 MiB)`: exact for scripts that grep, readable for people. */
export function formatBytes(bytes: number | null): string {
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

export function formatStatus(report: StatusReport): string {
  const lines: string[] = [];
  lines.push(`CRM ${report.source}, WAL at ${report.currentLsn}`);
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
  lines.push(`MES ${report.target}`);
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
  if (report.mappings.length > 0) {
    const header = ['MAPPING', 'SOURCE', 'TARGET', 'ROWS', 'DEAD LETTERS'];
    const rows = report.mappings.map((mapping) => [
      mapping.name,
      mapping.source,
      mapping.target,
      mapping.targetRows === null ? 'missing' : String(mapping.targetRows),
      mapping.deadLetters === null ? '-' : String(mapping.deadLetters),
    ]);
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column]!.length)),
    );
    for (const row of [header, ...rows]) {
      lines.push(
        `  ${row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ')}`.trimEnd(),
      );
    }
  }
  if (report.deadLettersTotal !== null && report.deadLettersTotal > 0) {
    lines.push(`  dead letters in all: ${report.deadLettersTotal} (table millrace_dead_letters)`);
  }
  for (const warning of report.warnings) lines.push(`warning: ${warning}`);
  return lines.join('\n');
}
