import { claimBackfillRole } from '../backfill/backfill-lock.js';
import { isNoSuchTable } from '../errors/classify-error.js';
import { describeError, isMillraceError, RuntimeFailure } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { loadMappings } from '../mapping/load-mappings.js';
import { selectMappings } from '../mapping/mapping-index.js';
import type { MappingSpec } from '../mapping/mapping-spec.js';
import { connectTarget, type MysqlConnection, parseTargetUrl } from '../mysql/mysql-client.js';
import { TargetWriter } from '../mysql/writer.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { formatLsn } from '../util/lsn.js';
import { withReleasers } from '../util/releasers.js';
import { type AuditReport, type MappingReport, mappingConsistent } from './audit-report.js';
import { comparePass, type PassStats } from './compare-mapping.js';
import type { KeyStrategy } from './key-plan.js';
import { type PreparedMapping, prepareMappings } from './prepare-mappings.js';
import type { DifferenceHandler } from './range-rows.js';
import { type RecheckSummary, readObservations, recheck } from './recheck.js';
import { Repairer, type RepairSummary } from './repair.js';
import { createReplicationProbe, type ReplicationProbe } from './settle.js';
import { insertAuditRun } from './sql/insert-audit-run.js';
import { streamRepairChannel } from './stream-repair.js';
import { MappingTally } from './tally.js';
import { auditToCrm, type ReturnStanding, type ToCrmAudit } from './to-crm/audit-to-crm.js';

interface AuditOptions {
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
  /** The JSON report (audit-report.ts). */
  readonly report: AuditReport;
  readonly mappings: readonly MappingOutcome[];
  /** The CRM position when the audit started reading; null when no to-mes mapping was audited. */
  readonly readLsn: string | null;
  /** How the to-crm mappings' audit met the return stream; absent when none was audited. */
  readonly returnPath?: ReturnStanding;
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

/**
 * `millrace audit`: compares what the CRM implies through the compiled mappings with what the
 * MES holds, re-checks differences against a live replicator, repairs on request and records the
 * run. Connections are released in reverse order whatever happens.
 */
export async function runAudit(options: AuditOptions): Promise<AuditOutcome> {
  const { logger } = options;
  // --table picks among the mappings of both directions; each direction is audited its own way.
  const specs = selectMappings(
    [...loadMappings(options.mappingsDir), ...loadMappings(options.mappingsDir, 'to-crm')],
    options.tables,
  );
  try {
    return await withReleasers(async (releasers) => {
      // Each connection is closed when the audit ends, whatever happens.
      const held = async <C extends { end(): Promise<void> }>(connecting: Promise<C>) =>
        releasers.hold(await connecting, (connection) => connection.end());
      const timeoutMs = options.connectTimeoutMs;
      const connectCrm = async () => {
        const client = await held(
          connectSource({
            url: options.sourceUrl,
            timeoutMs,
            logger,
            applicationName: 'millrace:audit',
          }),
        );
        // A digest statement's planner estimate is far above its cost (a range scan per bucket
        // is guessed at thousands of rows), enough for JIT, whose compiling took two thirds of
        // the statement's time; its expressions are simple. (No `jit` before PostgreSQL 11.)
        await client.query(
          "SELECT set_config(name, 'off', false) FROM pg_settings WHERE name = 'jit'",
        );
        return client;
      };
      const connectMes = async () => {
        const connection = await held(connectTarget({ url: options.targetUrl, timeoutMs, logger }));
        // Room for a key range's rows joined for its digest (sql/bucket-digests.ts).
        await connection.query('SET SESSION group_concat_max_len = 1073741824');
        return connection;
      };
      // Opened at once; every one that opens is held before a failure of another is thrown.
      const opening = [
        connectCrm(),
        connectMes(),
        connectMes(),
        connectCrm(),
        connectMes(),
      ] as const;
      await Promise.allSettled(opening);
      const [source, target, writerConnection, sourceHelper, targetHelper] =
        await Promise.all(opening);
      const sides = { source, sourceHelper, reader: target, targetHelper, writerConnection };
      const toCrm = specs.filter((spec) => spec.direction === 'to-crm');
      const toMes = specs.filter((spec) => spec.direction === 'to-mes');
      if (toCrm.length === 0) return await audit(options, sides, toMes);
      // The to-crm repair writes on a CRM session of its own (it carries a replication origin).
      const crmWriter = options.repair && !options.dryRun ? await connectCrm() : undefined;
      return await auditBoth(options, { ...sides, crmWriter }, toMes, toCrm);
    });
  } catch (error) {
    if (isMillraceError(error)) throw error;
    throw new RuntimeFailure('AUDIT_FAILED', `audit failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

/** What the stages after the main passes share. */
interface AuditRun {
  readonly options: AuditOptions;
  readonly source: PgClient;
  readonly target: MysqlConnection;
  readonly probe: ReplicationProbe;
  readonly prepared: readonly PreparedMapping[];
  readonly repairer: Repairer | undefined;
  readonly pass: ComparePass;
  /** A replicator streams (or holds the lock): re-checks wait for it. */
  readonly live: boolean;
}

type ComparePass = (entry: PreparedMapping, onDifference?: DifferenceHandler) => Promise<PassStats>;

/**
 * The connections: the CRM and a MES reader, a second session on each that digests half of each
 * range beside them, and the MES session repairs and records write on.
 */
interface AuditSides {
  readonly source: PgClient;
  readonly sourceHelper: PgClient;
  readonly reader: MysqlConnection;
  readonly targetHelper: MysqlConnection;
  readonly writerConnection: MysqlConnection;
}

async function audit(
  options: AuditOptions,
  sides: AuditSides,
  specs: readonly MappingSpec[],
): Promise<AuditOutcome> {
  const prepared = await prepareMappings(specs, options, sides.source, sides.reader);
  try {
    return await auditPrepared(options, sides, prepared);
  } finally {
    for (const entry of prepared) entry.tally.dispose();
  }
}

async function auditPrepared(
  options: AuditOptions,
  sides: AuditSides,
  prepared: readonly PreparedMapping[],
): Promise<AuditOutcome> {
  const { logger } = options;
  const { source, reader, writerConnection } = sides;
  const started = new Date();
  const startedMs = performance.now();
  const probe = createReplicationProbe({ source, target: reader, slot: options.slot, logger });
  const replicatorActive = await probe.replicatorActive();
  const repairRole = await claimRepairRole(options, writerConnection);
  const live = replicatorActive || repairRole === 'online';
  // A replicator moves rows while the audit reads: every difference must be re-checked.
  for (const entry of prepared) entry.tally.spillOverflow = live;
  const readLsn = formatLsn(await probe.readPosition());
  const names = prepared.map((entry) => entry.model.mapping.name);
  logger.info({ mappings: names, readLsn, replicatorActive, slot: options.slot }, 'audit started');
  const repairer = options.repair
    ? createRepairer(options, writerConnection, repairRole === 'online')
    : undefined;
  const throughput = { sourceRows: 0, targetRows: 0 };
  const run: AuditRun = {
    options,
    source,
    target: reader,
    probe,
    prepared,
    repairer,
    pass: createPass(options, sides, throughput),
    live,
  };
  // Without a replicator nothing else writes the keys: repair as the scan finds them, so any
  // number of differences is repaired in bounded memory. With one, only settled differences.
  const streamRepair: DifferenceHandler | undefined =
    repairer !== undefined && !live
      ? (model, verdict, image, actual) => repairer.add(model, verdict, image, actual)
      : undefined;
  for (const entry of prepared) await run.pass(entry, streamRepair);
  await repairer?.flush();

  let summary: RecheckSummary | undefined;
  if (live) summary = await recheckLive(run);
  else if (repairer !== undefined && !options.dryRun) summary = await verifyRepair(run, repairer);
  repairer?.logTotals();

  const mappings = prepared.map((entry) => mappingOutcome(entry, options.samples, repairer));
  const report: AuditReport = {
    consistent: mappings.every((mapping) => mappingConsistent(mapping.report)),
    startedAt: started.toISOString(),
    finishedAt: new Date().toISOString(),
    mappings: mappings.map((mapping) => mapping.report),
  };
  if (options.record !== false) await recordRun(writerConnection, report, readLsn, logger);
  const seconds = (performance.now() - startedMs) / 1000;
  logger.info(
    { consistent: report.consistent, ...throughput, seconds: Math.round(seconds * 1000) / 1000 },
    'audit finished',
  );
  return {
    report,
    mappings,
    readLsn,
    slot: options.slot,
    replicatorActive,
    recheck: summary,
    repair:
      repairer === undefined ? undefined : { dryRun: repairer.dryRun, summaries: repairer.all() },
    throughput: { ...throughput, seconds },
  };
}

/**
 * An audit that includes to-crm mappings: the to-mes ones first (unrecorded), then the to-crm
 * ones, one report of both, recorded once.
 */
async function auditBoth(
  options: AuditOptions,
  sides: AuditSides & { readonly crmWriter: PgClient | undefined },
  toMes: readonly MappingSpec[],
  toCrm: readonly MappingSpec[],
): Promise<AuditOutcome> {
  const started = new Date();
  const startedMs = performance.now();
  const forward =
    toMes.length > 0 ? await audit({ ...options, record: false }, sides, toMes) : undefined;
  const back = await auditToCrm(
    {
      specs: toCrm,
      stream: options.slot,
      samples: options.samples,
      settleTimeoutMs: options.settleTimeoutMs,
      chunkSize: options.chunkSize ?? 5_000,
      logger: options.logger,
      ...(options.repair ? { repair: { dryRun: options.dryRun, crm: sides.crmWriter } } : {}),
    },
    { mes: sides.reader, crm: sides.source },
  );
  const outcome = joinOutcomes(forward, back, options, {
    startedAt: forward?.report.startedAt ?? started.toISOString(),
    seconds: (performance.now() - startedMs) / 1000,
  });
  if (options.record !== false) {
    await recordRun(sides.writerConnection, outcome.report, outcome.readLsn, options.logger);
  }
  options.logger.info({ consistent: outcome.report.consistent }, 'audit finished');
  return outcome;
}

/** One outcome of the forward audit (if any) and the to-crm one. */
function joinOutcomes(
  forward: AuditOutcome | undefined,
  back: ToCrmAudit,
  options: Pick<AuditOptions, 'slot' | 'repair' | 'dryRun'>,
  timing: { readonly startedAt: string; readonly seconds: number },
): AuditOutcome {
  const mappings = [...(forward?.mappings ?? []), ...back.mappings];
  return {
    report: {
      consistent: mappings.every((mapping) => mappingConsistent(mapping.report)),
      startedAt: timing.startedAt,
      finishedAt: new Date().toISOString(),
      mappings: mappings.map((mapping) => mapping.report),
    },
    mappings,
    readLsn: forward?.readLsn ?? null,
    returnPath: back.standing,
    slot: options.slot,
    replicatorActive: forward?.replicatorActive ?? false,
    recheck: forward?.recheck,
    repair: options.repair
      ? {
          dryRun: options.dryRun,
          summaries: [...(forward?.repair?.summaries ?? []), ...back.repairs],
        }
      : undefined,
    throughput: {
      sourceRows: (forward?.throughput.sourceRows ?? 0) + back.sourceRows,
      targetRows: (forward?.throughput.targetRows ?? 0) + back.targetRows,
      seconds: timing.seconds,
    },
  };
}

/**
 * Who writes the repairs: a replicator holding the slot's lock applies them in-stream
 * (`online`); otherwise the audit writes them itself, holding that lock until it ends so that
 * no replicator starts writing beside it (`offline`). Undefined when nothing is written.
 */
async function claimRepairRole(
  options: AuditOptions,
  writerConnection: MysqlConnection,
): Promise<'online' | 'offline' | undefined> {
  if (!options.repair || options.dryRun) return undefined;
  const database = parseTargetUrl(options.targetUrl).database;
  return claimBackfillRole(writerConnection, database, options.slot);
}

function createRepairer(
  options: AuditOptions,
  writerConnection: MysqlConnection,
  inStream: boolean,
): Repairer {
  const { logger } = options;
  const channel = inStream
    ? streamRepairChannel({
        connection: writerConnection,
        slot: options.slot,
        timeoutMs: Math.max(options.settleTimeoutMs, 60_000),
      })
    : undefined;
  return new Repairer({
    writer:
      options.dryRun || inStream
        ? undefined
        : new TargetWriter({
            connection: writerConnection,
            logger: logger.child({ component: 'writer' }),
            onBadRow: 'deadletter',
          }),
    ...(channel ? { channel } : {}),
    logger: logger.child({ component: 'repair' }),
    samples: options.samples,
  });
}

/** One full comparison of a mapping, counted into `throughput` and logged. */
function createPass(
  options: AuditOptions,
  { source, sourceHelper, reader: target, targetHelper }: AuditSides,
  throughput: { sourceRows: number; targetRows: number },
): ComparePass {
  const chunkSize = options.chunkSize ?? 5_000;
  return async (entry, onDifference) => {
    const passStarted = performance.now();
    const stats = await comparePass({
      source,
      sourceHelper,
      target,
      targetHelper,
      model: entry.model,
      tally: entry.tally,
      strategy: entry.strategy,
      hasher: entry.hasher,
      keyTypes: entry.keyTypes,
      keyFamilies: entry.keyFamilies,
      digest: entry.digest,
      chunkSize,
      ...(onDifference ? { onDifference } : {}),
    });
    entry.comparedBy = stats.digested ? 'digest' : 'rows';
    throughput.sourceRows += stats.sourceRead;
    throughput.targetRows += stats.targetRead;
    const seconds = (performance.now() - passStarted) / 1000;
    options.logger.info(
      {
        mapping: entry.model.mapping.name,
        strategy: entry.strategy,
        hashing: entry.hasher !== undefined,
        sourceRows: stats.sourceRead,
        targetRows: stats.targetRead,
        hashedChunks: stats.hashedChunks,
        rowChunks: stats.rowChunks,
        comparedBy: entry.comparedBy,
        ...(entry.comparedBy === 'rows' && entry.rowsReason ? { why: entry.rowsReason } : {}),
        seconds: Math.round(seconds * 1000) / 1000,
      },
      'mapping compared',
    );
    return stats;
  };
}

/**
 * A replicator is active: differences are re-checked once it has caught up. With --repair, what
 * outlived the settling is handed to the replicator batch by batch (in-stream), then verified;
 * with --dry-run it is planned from a fresh read of both sides.
 */
async function recheckLive(run: AuditRun): Promise<RecheckSummary> {
  const { options, prepared, repairer } = run;
  const recheckOptions = () => ({
    source: run.source,
    target: run.target,
    logger: options.logger,
    probe: run.probe,
    deadline: Date.now() + options.settleTimeoutMs,
  });
  if (repairer !== undefined && !repairer.dryRun) {
    await recheck(prepared, recheckOptions(), async (batch) => {
      for (const [entry, candidates] of batch) {
        for (const candidate of candidates) {
          const { source, target } = candidate.observation;
          await repairer.add(entry.tally.model, candidate.verdict, source, target);
        }
      }
      await repairer.flush();
    });
    return verifyRepair(run, repairer);
  }
  const summary = await recheck(prepared, recheckOptions());
  if (repairer === undefined) return summary;
  for (const entry of prepared) {
    const differences = entry.tally.differences();
    if (differences.length === 0) continue;
    const observations = await readObservations(run, entry, differences);
    for (const candidate of differences) {
      const observation = observations.get(candidate.key)!;
      const verdict = entry.tally.revise(candidate, observation);
      await repairer.add(entry.model, verdict, observation.source, observation.target);
    }
  }
  await repairer.flush();
  return summary;
}

/**
 * Verifies a repair: kept keys are read again (waiting for the replicator when one runs); a
 * mapping with more differences than are kept is compared again in full.
 */
async function verifyRepair(run: AuditRun, repairer: Repairer): Promise<RecheckSummary> {
  const verify: PreparedMapping[] = [];
  for (const entry of run.prepared) {
    if (repairer.summaryOf(entry.model.mapping.name) === undefined) continue;
    if (entry.tally.overflow > 0) {
      const spill = entry.tally.spillOverflow;
      entry.tally.dispose();
      entry.tally = new MappingTally(entry.model);
      entry.tally.spillOverflow = spill;
      await run.pass(entry);
    }
    verify.push(entry);
  }
  return recheck(verify, {
    source: run.source,
    target: run.target,
    logger: run.options.logger,
    ...(run.live ? { probe: run.probe } : {}),
    deadline: Date.now() + run.options.settleTimeoutMs,
  });
}

function mappingOutcome(
  entry: PreparedMapping,
  samples: number,
  repairer: Repairer | undefined,
): MappingOutcome {
  return {
    report: {
      ...entry.tally.report(samples),
      strategy: entry.comparedBy,
      ...(entry.comparedBy === 'rows' && entry.rowsReason
        ? { strategyReason: entry.rowsReason }
        : {}),
    },
    onDelete: entry.model.mapping.onDelete,
    retained: entry.tally.retained,
    strategy: entry.strategy,
    hashed: entry.hasher !== undefined,
    notKept: entry.tally.overflow,
    repair: repairer?.summaryOf(entry.model.mapping.name),
  };
}

/** Stores the run through the writer, so it commits like every other MES write. */
async function recordRun(
  connection: MysqlConnection,
  report: AuditReport,
  readLsn: string | null,
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
