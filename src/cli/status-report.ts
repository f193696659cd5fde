import type { MappingSpec } from '../mapping/mapping-spec.js';
import type { TargetStatus } from '../mysql/target-status.js';
import type { PublicationStatus, SlotStatus, SourceStatus } from '../postgres/slot-status.js';
import { parseLsn } from '../util/lsn.js';
import type { ReturnStatus } from './return-status.js';

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
  /** The return stream (MES binlog → CRM); null without to-crm mappings. */
  readonly returnPath: ReturnStatus | null;
  /** What needs attention, each with its fix. */
  readonly warnings: readonly string[];
}

interface MappingStatus {
  readonly name: string;
  readonly source: string;
  readonly target: string;
  /** Rows in the target table; null when the table does not exist. */
  readonly targetRows: number | null;
  /** Rows in millrace_dead_letters for this mapping; null without control tables. */
  readonly deadLetters: number | null;
}

interface StatusInput {
  readonly source: SourceStatus;
  readonly target: TargetStatus;
  readonly specs: readonly MappingSpec[];
  readonly names: { readonly slot: string; readonly publication: string };
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly returnPath: ReturnStatus | null;
  /** Warnings found earlier (mappings). */
  readonly warnings: readonly string[];
}

function slotWarnings(slot: SlotStatus | undefined, name: string): string[] {
  if (slot === undefined) return [`replication slot ${name} does not exist: run millrace setup`];
  const warnings: string[] = [];
  if (slot.walStatus === 'lost') {
    warnings.push(
      `replication slot ${name} was invalidated (WAL removed): run millrace teardown --yes, setup, then backfill --restart`,
    );
  } else if (slot.walStatus === 'unreserved') {
    warnings.push(
      `replication slot ${name} is about to be invalidated (wal_status unreserved): start millrace run`,
    );
  }
  if (!slot.inThisDatabase) {
    warnings.push(
      `replication slot ${name} belongs to database ${slot.database ?? 'none'}, not the one --source names: choose another --slot`,
    );
  }
  if (slot.plugin !== 'pgoutput') {
    warnings.push(
      `replication slot ${name} uses plugin ${slot.plugin ?? 'none'}, not pgoutput: it is not millrace's`,
    );
  }
  return warnings;
}

function publicationWarnings(
  publication: PublicationStatus | undefined,
  name: string,
  specs: readonly MappingSpec[],
): string[] {
  if (publication === undefined) return [`publication ${name} does not exist: run millrace setup`];
  const published = new Set(publication.tables);
  const unpublished = [...new Set(specs.map((spec) => spec.sourceKey))].filter(
    (table) => !published.has(table),
  );
  if (publication.allTables || unpublished.length === 0) return [];
  return [`mapped ${unpublished.join(', ')} not in publication ${name}: run millrace setup`];
}

function targetWarnings(
  target: TargetStatus,
  slot: string,
  specs: readonly MappingSpec[],
): string[] {
  const warnings: string[] = [];
  if (!target.controlTables) {
    warnings.push(
      `control tables ${target.missingControlTables.join(', ')} missing on the MES: run millrace migrate`,
    );
  } else if (target.checkpoint === null) {
    warnings.push(
      `no checkpoint for slot ${slot} yet: nothing replicated (millrace run writes it)`,
    );
  }
  for (const spec of specs) {
    if (target.rowCounts.has(spec.target)) continue;
    warnings.push(
      `target table ${spec.target} of mapping ${spec.name} does not exist: create it in a staging migration and run millrace migrate`,
    );
  }
  return warnings;
}

function checkpointReport(target: TargetStatus, currentLsn: string): StatusReport['checkpoint'] {
  if (target.checkpoint === null) return null;
  const current = parseLsn(currentLsn);
  const { checkpoint } = target;
  return {
    lsn: checkpoint.lsnText,
    updatedAt: checkpoint.updatedAt,
    lagBytes: current > checkpoint.lsn ? Number(current - checkpoint.lsn) : 0,
    lagSeconds: Math.round(checkpoint.ageSeconds * 1000) / 1000,
  };
}

function mappingStatus(spec: MappingSpec, target: TargetStatus): MappingStatus {
  return {
    name: spec.name,
    source: spec.sourceKey,
    target: spec.target,
    targetRows: target.rowCounts.get(spec.target) ?? null,
    deadLetters: target.controlTables ? (target.deadLetters.get(spec.name) ?? 0) : null,
  };
}

function publicationReport(
  publication: PublicationStatus | undefined,
  name: string,
): StatusReport['publication'] {
  if (publication === undefined) return { name, exists: false };
  return {
    name,
    exists: true,
    allTables: publication.allTables,
    viaRoot: publication.viaRoot,
    tables: publication.tables,
  };
}

/** Combines both sides into the report, with a warning and its fix for everything missing or wrong. */
export function buildStatusReport(input: StatusInput): StatusReport {
  const { source, target, names, specs } = input;
  const slot = source.slot;
  return {
    source: input.sourceUrl,
    target: input.targetUrl,
    currentLsn: source.currentLsn,
    slot:
      slot === undefined
        ? { name: names.slot, exists: false }
        : { ...slot, name: names.slot, exists: true },
    publication: publicationReport(source.publication, names.publication),
    controlTables: target.controlTables,
    checkpoint: checkpointReport(target, source.currentLsn),
    mappings: specs.map((spec) => mappingStatus(spec, target)),
    deadLettersTotal: target.controlTables
      ? [...target.deadLetters.values()].reduce((a, b) => a + b, 0)
      : null,
    returnPath: input.returnPath,
    warnings: [
      ...input.warnings,
      ...(input.returnPath?.checkpoint?.purged
        ? [
            "the return path's checkpoint is in a purged MES binlog file: run millrace backfill for the to-crm mappings",
          ]
        : []),
      ...slotWarnings(slot, names.slot),
      ...publicationWarnings(source.publication, names.publication, specs),
      ...targetWarnings(target, names.slot, specs),
    ],
  };
}
