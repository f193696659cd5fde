import { OnlineBackfills } from '../backfill/online-backfills.js';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import { loadCheckpoint } from '../mysql/checkpoint-store.js';
import { connectTarget, type MysqlConnection, parseTargetUrl } from '../mysql/mysql-client.js';
import { watchReplicatorLock } from '../mysql/replicator-lock.js';
import { TargetWriter } from '../mysql/writer.js';
import { ChangeMapper } from '../pipeline/change-mapper.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createRelationCheck, type TableTypes } from '../pipeline/relation-check.js';
import { readCurrentWalLsn, readDeclaredTypes } from '../postgres/declared-types.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { ReplicationSource } from '../postgres/replication-source.js';
import { readSlotStatus } from '../postgres/slot-status.js';
import { formatLsn, parseLsn } from '../util/lsn.js';
import type { Releasers } from '../util/releasers.js';
import type { OnBadRow } from '../writes/refuse-row.js';
import { takeReplicatorLock, waitForSlotRelease } from './lock-handover.js';
import { startProgressReporter } from './progress-reporter.js';

export interface SessionOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  readonly publication: string;
  readonly mappings: readonly CompiledMapping[];
  readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  readonly onBadRow: OnBadRow;
  /** Idle time after which the slot is advanced anyway, in milliseconds. */
  readonly heartbeatMs: number;
  /** How long each connect is retried, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  readonly maxBatchWrites?: number;
  readonly maxBatchDelayMs?: number;
  /** Time between two progress lines, in milliseconds. */
  readonly progressIntervalMs: number;
  /** `run --standby`: wait for the lock instead of failing when another replicator holds it. */
  readonly standby: boolean;
}

export interface SessionContext {
  readonly signal: AbortSignal;
  /** A restart after an outage: the server may still hold the lock for our old session. */
  readonly restarting: boolean;
  /** Everything the session takes is given back through these, in reverse order. */
  readonly releasers: Releasers;
  /** The stream runs: `checkpoint` is where it resumed. */
  readonly onReplicating: (checkpoint: bigint) => void;
  /**
   * The source types the mappings were compiled against, given the catalog's types as this
   * session read them: the first session's reading (close to the compile) is kept for later ones.
   */
  readonly compiledTypes: (
    current: ReadonlyMap<string, TableTypes>,
  ) => ReadonlyMap<string, TableTypes>;
  /** The stream stopped cleanly with everything up to `checkpoint` committed. */
  readonly onStopping: (checkpoint: bigint) => void;
  /** A standby waits for the lock that MySQL connection `holder` holds. */
  readonly onStandby: (holder: string | null) => void;
}

/** The session's connections: each with one job, so no statement waits behind another's. */
interface Connections {
  /** The writer's session, which also holds the replicator lock: writes are fenced by it. */
  readonly target: MysqlConnection;
  /** Catalog reads, WAL position and the online backfill's chunk reads on the CRM. */
  readonly catalog: PgClient;
  /** The online backfill's requests and progress, and the lock watch, on the MES. */
  readonly control: MysqlConnection;
}

/**
 * One connected session of `millrace run`, from the checkpoint until the signal stops it
 * (resolves after the clean stop) or something fails (rejects; the caller decides whether to
 * restart). The composition root of the data path: the PostgreSQL change source, the pipeline
 * and the MySQL writer, with the online backfill hooked into the stream.
 */
export async function runSession(options: SessionOptions, context: SessionContext): Promise<void> {
  const { releasers } = context;
  const connections = await connect(options, context);
  // A standby stopped while it waited: it never held the lock and wrote nothing.
  if (connections === undefined) return;
  const checkpoint = await loadCheckpoint(connections.target, options.slot);
  const compiledTypes = context.compiledTypes(
    await readDeclaredTypes(connections.catalog, [...options.mappingsByTable.keys()]),
  );
  let pipeline: Pipeline | undefined;
  const fail = (error: unknown) => pipeline?.fail(error);
  const backfills = new OnlineBackfills({
    catalog: connections.catalog,
    control: connections.control,
    mappings: options.mappings,
    committedLsn: () => pipeline?.committedLsn() ?? checkpoint.lsn,
    onConnectionLost: fail,
    logger: options.logger.child({ component: 'backfill' }),
  });
  const writer = releasers.hold(
    new TargetWriter({
      connection: connections.target,
      logger: options.logger.child({ component: 'writer' }),
      onBadRow: options.onBadRow,
      onDeadLetter: (letter) => options.metrics?.deadLetter(letter.origin.mapping),
    }),
    (held) => held.rollback(),
  );
  const source = new ReplicationSource({
    url: options.sourceUrl,
    slot: options.slot,
    publication: options.publication,
    startLsn: checkpoint.lsn,
    logger: options.logger.child({ component: 'source' }),
    heartbeatMs: options.heartbeatMs,
  });
  pipeline = new Pipeline({
    mapper: new ChangeMapper({
      mappingsByTable: options.mappingsByTable,
      onBadRow: options.onBadRow,
    }),
    interceptor: backfills.interceptor,
    sink: writer,
    source,
    slot: options.slot,
    checkpoint: checkpoint.lsn,
    checkRelation: createRelationCheck({
      mappingsByTable: options.mappingsByTable,
      compiledTypes,
      readCurrentTypes: async (table) =>
        (await readDeclaredTypes(connections.catalog, [table])).get(table) ?? new Map(),
    }),
    logger: options.logger.child({ component: 'pipeline' }),
    ...(options.metrics ? { observer: options.metrics } : {}),
    ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
    ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
  });
  const running = pipeline;
  watchConnections(options, connections, fail, releasers);
  releasers.add(() => source.stop());
  await source.start({ event: (event) => running.push(event), fail });
  context.onReplicating(checkpoint.lsn);
  backfills.start();
  releasers.add(() => backfills.stop());
  releasers.add(reportProgress(options, connections.catalog, running, source));
  // Stop reading as soon as the stop is asked for; the pipeline finishes what it has.
  await running.run(context.signal);
  context.onStopping(running.committedLsn());
}

/** The progress line and lag gauges; lag counts from what the slot has been told, idle included. */
function reportProgress(
  options: SessionOptions,
  catalog: PgClient,
  pipeline: Pipeline,
  source: ReplicationSource,
): () => void {
  const { metrics } = options;
  return startProgressReporter({
    lagBytes: async () => {
      const committed = pipeline.committedLsn();
      const confirmed = source.confirmedLsn();
      const acknowledged = confirmed > committed ? confirmed : committed;
      return parseLsn(await readCurrentWalLsn(catalog)) - acknowledged;
    },
    observe: async () => {
      const slot = await readSlotStatus(catalog, options.slot);
      if (slot) metrics?.observeSlot(options.slot, slot);
    },
    committedLsn: () => pipeline.committedLsn(),
    formatPosition: formatLsn,
    queued: () => pipeline.queued(),
    logger: options.logger,
    intervalMs: options.progressIntervalMs,
    ...(metrics ? { metrics } : {}),
  });
}

/**
 * The writer's session first, and the lock on it: a standby waits there holding nothing else
 * (no idle connection to go stale while it waits). Undefined when stopped before the lock.
 */
async function connect(
  options: SessionOptions,
  context: SessionContext,
): Promise<Connections | undefined> {
  const { releasers } = context;
  const common = { timeoutMs: options.connectTimeoutMs, logger: options.logger };
  const target = releasers.hold(
    // The writer's session: the one that sends multi-statement packets.
    await connectTarget({ url: options.targetUrl, ...common, multipleStatements: true }),
    (held) => held.end(),
  );
  const lock = await takeReplicatorLock(target, {
    database: parseTargetUrl(options.targetUrl).database,
    slot: options.slot,
    standby: options.standby,
    restarting: context.restarting,
    signal: context.signal,
    onStandby: context.onStandby,
  });
  if (lock === 'stopped') return undefined;
  const catalog = releasers.hold(
    await connectSource({ url: options.sourceUrl, ...common }),
    (held) => held.end(),
  );
  if (lock === 'waited' || context.restarting) {
    await waitForSlotRelease(catalog, options.slot, context.signal, options.logger);
  }
  const control = releasers.hold(
    await connectTarget({ url: options.targetUrl, ...common }),
    (held) => held.end(),
  );
  return { target, catalog, control };
}

/**
 * A lost writer session (killed, timed out, cut by a proxy) or a lock the server no longer
 * gives to it fails the session at once: nothing more is written until the restart has taken
 * the lock again.
 */
function watchConnections(
  options: SessionOptions,
  connections: Connections,
  fail: (error: unknown) => void,
  releasers: Releasers,
): void {
  const onClosed = (error: unknown) => fail(error);
  connections.target.on('error', onClosed);
  releasers.add(() => connections.target.off('error', onClosed));
  releasers.add(
    watchReplicatorLock({
      observer: connections.control,
      database: parseTargetUrl(options.targetUrl).database,
      slot: options.slot,
      holderId: connections.target.threadId,
      onLost: fail,
    }),
  );
}
