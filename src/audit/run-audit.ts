import { isNoSuchTable } from '../errors/classify-error.js';
import { describeError, isMillraceError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import { compileMappings } from '../mapping/compile-mappings.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { loadMappings } from '../mapping/load-mappings.js';
import { mappedTables, selectMappings } from '../mapping/mapping-index.js';
import { formatProblem } from '../mapping/mapping-problem.js';
import type { Schemas } from '../mapping/tables.js';
import { introspectTarget } from '../mysql/introspect.js';
import { connectTarget, type MysqlConnection } from '../mysql/mysql-client.js';
import { TargetWriter } from '../mysql/writer.js';
import { introspectSource } from '../postgres/introspect.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { formatLsn } from '../util/lsn.js';
import { describeSource, type SourceFamily } from '../values/source-spec.js';
import { type AuditReport, type MappingReport, mappingConsistent } from './audit-report.js';
import { buildChunkHasher, type ChunkHasher } from './chunk-hash.js';
import { comparePass, type DifferenceHandler, type PassStats } from './compare-mapping.js';
import { chooseStrategy, type KeyStrategy } from './key-plan.js';
import {
  type RecheckEntry,
  type RecheckSummary,
  readSourceImages,
  readTargetRows,
  recheck,
} from './recheck.js';
import { Repairer, type RepairSummary } from './repair.js';
import { buildRowModel, type RowModel } from './row-model.js';
import { createReplicationProbe } from './settle.js';
import type { SourceQueryable } from './source-reader.js';
import { insertAuditRun } from './sql/insert-audit-run.js';
import { selectColumnTypes } from './sql/key-types.js';
import { MappingTally } from './tally.js';
import type { TargetQueryable } from './target-reader.js';

export interface AuditOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly mappingsDir: string;
  readonly slot: string;
  /** `--table` names (mapping, source or target table); empty: every mapping. */
  readonly tables: readonly string[];
  /** Samples per kind and mapping in the report. */
  readonly samples: number;
  /** How long differing keys may wait for a live replicator, in milliseconds. */
  readonly settleTimeoutMs: number;
  readonly repair: boolean;
  readonly dryRun: boolean;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  /** Rows per chunk on each side (default 5,000). */
  readonly chunkSize?: number;
  /** Per-chunk digests on the target where exact (default on). */
  readonly hashing?: boolean;
  /** Whether to store the run in millrace_audit_runs (default on). */
  readonly record?: boolean;
}

/** Everything the text, markdown and HTML forms show about one mapping. */
export interface MappingOutcome {
  readonly report: MappingReport;
  readonly onDelete: CompiledMapping['onDelete'];
  /** Target rows kept by onDelete: ignore although their source row is gone. */
  readonly retained: number;
  readonly strategy: KeyStrategy;
  readonly hashed: boolean;
  /** Differences beyond the kept ones: counted, not re-checked, not in the samples. */
  readonly notKept: number;
  readonly repair: RepairSummary | undefined;
}

export interface AuditOutcome {
  /** DESIGN.md's JSON report. */
  readonly report: AuditReport;
  readonly mappings: readonly MappingOutcome[];
  /** The CRM position when the audit started reading. */
  readonly readLsn: string | null;
  readonly slot: string;
  readonly replicatorActive: boolean;
  readonly recheck: RecheckSummary | undefined;
  /** Present with --repair: applied, or planned only with --dry-run. */
  readonly repair:
    | { readonly dryRun: boolean; readonly summaries: readonly RepairSummary[] }
    | undefined;
  /** Rows read per side over all passes, and the elapsed time in seconds. */
  readonly throughput: {
    readonly sourceRows: number;
    readonly targetRows: number;
    readonly seconds: number;
  };
}

/** One mapping with everything the passes need, prepared once. */
interface Prepared {
  readonly model: RowModel;
  readonly strategy: KeyStrategy;
  readonly hasher: ChunkHasher | undefined;
  readonly keyTypes: readonly string[];
  readonly keyFamilies: readonly SourceFamily[];
  tally: MappingTally;
}

/**
 * `millrace audit`: compares what the CRM implies through the compiled mappings with what the
 * MES holds, re-checks differences against a live replicator, repairs on request and records the
 * run. Connections are released in reverse order whatever happens.
 */
export async function runAudit(options: AuditOptions): Promise<AuditOutcome> {
  const { logger } = options;
  const releasers: (() => Promise<unknown>)[] = [];
  try {
    const source = await connectSource({
      url: options.sourceUrl,
      timeoutMs: options.connectTimeoutMs,
      logger,
      applicationName: 'millrace:audit',
    });
    releasers.push(() => source.end());
    const target = await connectTarget({
      url: options.targetUrl,
      timeoutMs: options.connectTimeoutMs,
      logger,
    });
    releasers.push(() => target.end());
    const writerConnection = await connectTarget({
      url: options.targetUrl,
      timeoutMs: options.connectTimeoutMs,
      logger,
    });
    releasers.push(() => writerConnection.end());
    return await audit(options, source, target, writerConnection);
  } catch (error) {
    if (isMillraceError(error)) throw error;
    throw new RuntimeFailure('AUDIT_FAILED', `audit failed: ${describeError(error)}`, {
      cause: error,
    });
  } finally {
    while (releasers.length > 0) await releasers.pop()!().catch(() => undefined);
  }
}

async function audit(
  options: AuditOptions,
  pgClient: PgClient,
  target: MysqlConnection,
  writerConnection: MysqlConnection,
): Promise<AuditOutcome> {
  const { logger } = options;
  // The drivers' overloaded signatures do not match the structural slices the audit reads through.
  const source = pgClient as unknown as SourceQueryable;
  const reader = target as unknown as TargetQueryable;
  const started = new Date();
  const startedMs = performance.now();
  const chunkSize = options.chunkSize ?? 5_000;

  const specs = selectMappings(loadMappings(options.mappingsDir), options.tables);
  const tables = mappedTables(specs);
  const schemas: Schemas = {
    source: await introspectSource(pgClient, tables.source),
    target: await introspectTarget(target, tables.target),
  };
  const compiled = compileMappings(specs, schemas, {
    onWarning: (problem) => logger.warn({ mapping: problem.mapping }, formatProblem(problem)),
  });

  // Reads in UTC (TIMESTAMP columns), with room for a chunk's digest input.
  await target.query("SET SESSION time_zone = '+00:00'");
  await target.query('SET SESSION group_concat_max_len = 1073741824');

  const prepared: Prepared[] = [];
  for (const mapping of compiled) {
    const sourceTable = schemas.source.get(mapping.sourceKey)!;
    const targetTable = schemas.target.get(mapping.target)!;
    const model = buildRowModel(mapping, sourceTable, targetTable);
    const sourceKey = mapping.sourceKeyColumns.map((column) => sourceTable.columns.get(column)!);
    const strategy = chooseStrategy(sourceKey, model.keyTargetColumns);
    const hasher =
      strategy === 'range' && options.hashing !== false ? buildChunkHasher(model) : undefined;
    const typeStatement = selectColumnTypes(mapping.source, mapping.sourceKeyColumns);
    const typeRows = await pgClient.query<{ name: string; type: string }>(typeStatement.text, [
      ...typeStatement.values,
    ]);
    const typeOf = new Map(typeRows.rows.map((row) => [row.name, row.type] as const));
    prepared.push({
      model,
      strategy,
      hasher,
      keyTypes: mapping.sourceKeyColumns.map((column) => typeOf.get(column) ?? 'text'),
      keyFamilies: sourceKey.map((column) => describeSource(column.type).family),
      tally: new MappingTally(model),
    });
  }

  const probe = createReplicationProbe({ source, target: reader, slot: options.slot, logger });
  const replicatorActive = await probe.replicatorActive();
  const readLsn = await probe.readPosition();
  logger.info(
    {
      mappings: prepared.map((entry) => entry.model.mapping.name),
      readLsn: formatLsn(readLsn),
      replicatorActive,
      slot: options.slot,
    },
    'audit started',
  );

  const repairer = options.repair
    ? new Repairer({
        writer: options.dryRun
          ? undefined
          : new TargetWriter({
              connection: writerConnection,
              logger: logger.child({ component: 'writer' }),
              onBadRow: 'deadletter',
            }),
        logger: logger.child({ component: 'repair' }),
        samples: options.samples,
      })
    : undefined;
  // Without a replicator nothing else writes the keys: repair as the scan finds them, so any
  // number of differences is repaired in bounded memory. With one, only settled differences.
  const streamRepair: DifferenceHandler | undefined =
    repairer !== undefined && !replicatorActive
      ? (model, verdict, image, actual) => repairer.add(model, verdict, image, actual)
      : undefined;

  const throughput = { sourceRows: 0, targetRows: 0 };
  const pass = async (entry: Prepared, onDifference?: DifferenceHandler): Promise<PassStats> => {
    const passStarted = performance.now();
    const stats = await comparePass({
      source,
      target: reader,
      model: entry.model,
      tally: entry.tally,
      strategy: entry.strategy,
      hasher: entry.hasher,
      keyTypes: entry.keyTypes,
      keyFamilies: entry.keyFamilies,
      chunkSize,
      ...(onDifference ? { onDifference } : {}),
    });
    throughput.sourceRows += stats.sourceRead;
    throughput.targetRows += stats.targetRead;
    const seconds = (performance.now() - passStarted) / 1000;
    logger.info(
      {
        mapping: entry.model.mapping.name,
        strategy: entry.strategy,
        hashing: entry.hasher !== undefined,
        sourceRows: stats.sourceRead,
        targetRows: stats.targetRead,
        hashedChunks: stats.hashedChunks,
        rowChunks: stats.rowChunks,
        seconds: Math.round(seconds * 1000) / 1000,
      },
      'mapping compared',
    );
    return stats;
  };

  for (const entry of prepared) await pass(entry, streamRepair);
  await repairer?.flush();

  const recheckEntries = (): RecheckEntry[] =>
    prepared.map((entry) => ({
      tally: entry.tally,
      keyTypes: entry.keyTypes,
      keyFamilies: entry.keyFamilies,
    }));
  const deadline = () => Date.now() + options.settleTimeoutMs;
  let summary: RecheckSummary | undefined;

  if (replicatorActive) {
    summary = await recheck(recheckEntries(), {
      source,
      target: reader,
      logger,
      probe,
      deadline: deadline(),
    });
    if (repairer !== undefined) {
      // Repair what outlived the settling, from a fresh read of both sides.
      for (const entry of prepared) {
        const differences = entry.tally.differences();
        if (differences.length === 0) continue;
        const recheckEntry = {
          tally: entry.tally,
          keyTypes: entry.keyTypes,
          keyFamilies: entry.keyFamilies,
        };
        const images = await readSourceImages(source, recheckEntry, differences);
        const actual = await readTargetRows(reader, recheckEntry, differences);
        for (const candidate of differences) {
          const observation = {
            source: images.get(candidate.key),
            target: actual.get(candidate.key),
          };
          const verdict = entry.tally.revise(candidate, observation);
          await repairer.add(entry.model, verdict, observation.source, observation.target);
        }
      }
      await repairer.flush();
      if (!options.dryRun) {
        summary = await recheck(recheckEntries(), {
          source,
          target: reader,
          logger,
          probe,
          deadline: deadline(),
        });
      }
    }
  } else if (repairer !== undefined && !options.dryRun) {
    // Verify the repair: kept keys are read again; a mapping with more differences than are
    // kept is compared again in full.
    const verify: RecheckEntry[] = [];
    for (const entry of prepared) {
      if (repairer.summaryOf(entry.model.mapping.name) === undefined) continue;
      if (entry.tally.overflow > 0) {
        entry.tally = new MappingTally(entry.model);
        await pass(entry);
      } else {
        verify.push({
          tally: entry.tally,
          keyTypes: entry.keyTypes,
          keyFamilies: entry.keyFamilies,
        });
      }
    }
    summary = await recheck(verify, { source, target: reader, logger, deadline: deadline() });
  }
  repairer?.logTotals();

  const mappings: MappingOutcome[] = prepared.map((entry) => ({
    report: entry.tally.report(options.samples),
    onDelete: entry.model.mapping.onDelete,
    retained: entry.tally.retained,
    strategy: entry.strategy,
    hashed: entry.hasher !== undefined,
    notKept: entry.tally.overflow,
    repair: repairer?.summaryOf(entry.model.mapping.name),
  }));
  const finished = new Date();
  const report: AuditReport = {
    consistent: mappings.every((mapping) => mappingConsistent(mapping.report)),
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    mappings: mappings.map((mapping) => mapping.report),
  };

  if (options.record !== false)
    await recordRun(writerConnection, report, formatLsn(readLsn), logger);
  const seconds = (performance.now() - startedMs) / 1000;
  logger.info(
    {
      consistent: report.consistent,
      sourceRows: throughput.sourceRows,
      targetRows: throughput.targetRows,
      seconds: Math.round(seconds * 1000) / 1000,
    },
    'audit finished',
  );
  return {
    report,
    mappings,
    readLsn: formatLsn(readLsn),
    slot: options.slot,
    replicatorActive,
    recheck: summary,
    repair:
      repairer === undefined ? undefined : { dryRun: repairer.dryRun, summaries: repairer.all() },
    throughput: { ...throughput, seconds },
  };
}

/** Stores the run through the writer, so it commits like every other MES write. */
async function recordRun(
  connection: MysqlConnection,
  report: AuditReport,
  readLsn: string,
  logger: Logger,
): Promise<void> {
  const writer = new TargetWriter({ connection, logger, onBadRow: 'stop' });
  try {
    await writer.commit({
      statements: [
        insertAuditRun({
          startedAt: report.startedAt,
          finishedAt: report.finishedAt,
          consistent: report.consistent,
          readLsn,
          report: JSON.stringify(report),
        }),
      ],
    });
  } catch (error) {
    await writer.rollback();
    if (!isNoSuchTable(error)) throw error;
    // The report is still worth printing; the missing table is the operator's to fix.
    logger.warn('millrace_audit_runs does not exist: run `millrace migrate` to record audit runs');
  }
}
