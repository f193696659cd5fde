import type { Logger } from '../../log/logger.js';
import { compileMappings } from '../../mapping/compile-mappings.js';
import { mappedCrmTables } from '../../mapping/mapping-index.js';
import { formatProblem } from '../../mapping/mapping-problem.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import { mesSourceTable, type SourceTable } from '../../mapping/tables.js';
import { toCrmTypes } from '../../mapping/to-crm-types.js';
import { listBinlogFiles } from '../../mysql/binlog/binlog-files.js';
import { introspectTarget } from '../../mysql/introspect.js';
import { introspectCrmTargets } from '../../postgres/introspect-targets.js';
import type { PgClient } from '../../postgres/pg-client.js';
import type { MesColumn } from '../../values/column-types.js';
import type { RecheckSummary } from '../recheck.js';
import type { RepairSummary } from '../repair.js';
import type { MappingOutcome } from '../run-audit.js';
import { type CrmSides, compareCrmPass } from './compare-crm-mapping.js';
import { buildCrmAuditModel, type CrmAuditModel } from './crm-audit-model.js';
import { CrmTally } from './crm-tally.js';
import { recheckCrm } from './recheck-crm.js';
import { repairCrm } from './repair-crm.js';
import { createScratch, dropScratch } from './scratch-table.js';
import { createStreamProbe } from './stream-probe.js';

/** How the audit met the return stream, for the report forms. */
export interface ReturnStanding {
  readonly stream: string;
  /** The MES binlog file and offset when the audit started reading, e.g. `mariadb-bin.000042:1234`. */
  readonly readPosition: string;
  /** A `run` replicated the stream when the audit started. */
  readonly active: boolean;
  readonly recheck: RecheckSummary | undefined;
}

export interface ToCrmAudit {
  readonly mappings: readonly MappingOutcome[];
  /** With --repair: what was (or, with --dry-run, would be) written, per mapping repaired. */
  readonly repairs: readonly RepairSummary[];
  readonly standing: ReturnStanding;
  readonly sourceRows: number;
  readonly targetRows: number;
}

interface ToCrmAuditOptions {
  readonly specs: readonly MappingSpec[];
  /** The return stream's name (the slot's). */
  readonly stream: string;
  readonly samples: number;
  readonly settleTimeoutMs: number;
  readonly chunkSize: number;
  readonly logger: Logger;
  /** Repair what differs; undefined: only report. */
  readonly repair?: {
    readonly dryRun: boolean;
    /** A CRM session of the repair's own, for its writes (none with dryRun). */
    readonly crm: PgClient | undefined;
  };
}

/** A mapping's model and its tally (replaced when a repaired mapping is compared again whole). */
interface Entry {
  readonly model: CrmAuditModel;
  tally: CrmTally;
}

/** Compiles the to-crm mappings against both live schemas, as `run` does, and models them. */
async function prepare(
  options: ToCrmAuditOptions,
  sides: CrmSides,
): Promise<readonly CrmAuditModel[]> {
  const tables = mappedCrmTables(options.specs);
  const mesTables = await introspectTarget(sides.mes, tables.source);
  const target = await introspectCrmTargets(sides.crm, tables.target);
  const source = new Map<string, SourceTable<MesColumn>>();
  for (const [name, table] of mesTables) source.set(name, mesSourceTable(table));
  const compiled = compileMappings(
    options.specs,
    { source, target },
    {
      types: toCrmTypes,
      onWarning: (problem) =>
        options.logger.warn({ mapping: problem.mapping }, formatProblem(problem)),
    },
  );
  return compiled.map((mapping, index) =>
    buildCrmAuditModel(
      mapping,
      mesTables.get(mapping.sourceKey)!.columns,
      target.get(mapping.target)!,
      index,
    ),
  );
}

/** The MES binlog's current file and offset, as people read them. */
async function binlogPlace(sides: CrmSides): Promise<string> {
  const newest = (await listBinlogFiles(sides.mes)).at(-1);
  return newest === undefined ? 'unknown' : `${newest.name}:${newest.size}`;
}

/**
 * Audits the to-crm mappings: what the MES implies through each compiled mapping against what
 * the CRM holds, compared in PostgreSQL (compare-crm-mapping.ts), differences re-checked once the
 * return stream has passed the audit's read position when it runs; then, with repair, the
 * differing keys re-applied from the MES and verified.
 */
export async function auditToCrm(options: ToCrmAuditOptions, sides: CrmSides): Promise<ToCrmAudit> {
  const { logger } = options;
  const models = await prepare(options, sides);
  const probe = createStreamProbe({ ...sides, stream: options.stream, logger });
  const active = await probe.replicatorActive();
  const readPosition = await binlogPlace(sides);
  logger.info({ stream: options.stream, readPosition, active }, 'to-crm audit started');
  const entries: Entry[] = models.map((model) => ({ model, tally: new CrmTally(model) }));
  const recheckOptions = () => ({
    sides,
    logger,
    ...(active ? { probe } : {}),
    deadline: Date.now() + options.settleTimeoutMs,
  });
  let sourceRows = 0;
  let recheck: RecheckSummary | undefined;
  let repairs: RepairSummary[] = [];
  try {
    for (const { model } of entries) await createScratch(sides.crm, model);
    for (const entry of entries) sourceRows += await comparePass(options, sides, entry);
    if (active) recheck = await recheckCrm(entries, recheckOptions());
    if (options.repair !== undefined) {
      repairs = await repairCrm(entries, {
        mes: sides.mes,
        crm: options.repair.crm,
        stream: options.stream,
        samples: options.samples,
        logger,
      });
      if (!options.repair.dryRun) {
        const repaired = new Set(repairs.map((summary) => summary.mapping));
        const verify = entries.filter((entry) => repaired.has(entry.model.mapping.name));
        for (const entry of verify) {
          if (entry.tally.overflow === 0) continue;
          entry.tally = new CrmTally(entry.model);
          await comparePass(options, sides, entry);
        }
        recheck = await recheckCrm(verify, recheckOptions());
      }
    }
  } finally {
    for (const { model } of entries) await dropScratch(sides.crm, model).catch(() => undefined);
  }
  const mappings = entries.map((entry) => crmOutcome(entry, repairs, options.samples));
  return {
    mappings,
    repairs,
    standing: { stream: options.stream, readPosition, active, recheck },
    sourceRows,
    targetRows: mappings.reduce((sum, mapping) => sum + mapping.report.targetRows, 0),
  };
}

/** One full comparison of a mapping, logged; returns the MES rows read. */
async function comparePass(
  options: ToCrmAuditOptions,
  sides: CrmSides,
  entry: Entry,
): Promise<number> {
  const started = performance.now();
  const read = await compareCrmPass(sides, entry.model, entry.tally, options.chunkSize);
  options.logger.info(
    {
      mapping: entry.model.mapping.name,
      direction: 'to-crm',
      sourceRows: read,
      ranges: entry.model.ordered,
      seconds: Math.round(performance.now() - started) / 1000,
    },
    'mapping compared',
  );
  return read;
}

function crmOutcome(
  { model, tally }: Entry,
  repairs: readonly RepairSummary[],
  samples: number,
): MappingOutcome {
  return {
    report: { ...tally.report(samples), strategy: 'typed-join', direction: 'to-crm' },
    onDelete: model.mapping.onDelete,
    retained: tally.retained,
    strategy: model.ordered ? 'range' : 'lookup',
    hashed: false,
    notKept: tally.overflow,
    repair: repairs.find((summary) => summary.mapping === model.mapping.name),
  };
}
