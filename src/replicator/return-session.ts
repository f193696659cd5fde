import { createHash } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import { listBinlogFiles } from '../mysql/binlog/binlog-files.js';
import {
  binlogFileName,
  decodeBinlogPosition,
  formatBinlogPosition,
  parseBinlogFileName,
} from '../mysql/binlog/binlog-position.js';
import { BinlogSource } from '../mysql/binlog/binlog-source.js';
import { readBinlogStatus } from '../mysql/binlog/binlog-status.js';
import { ZongjiReader } from '../mysql/binlog/zongji-reader.js';
import { introspectTarget } from '../mysql/introspect.js';
import { connectTarget, type MysqlConnection, parseTargetUrl } from '../mysql/mysql-client.js';
import { ChangeMapper } from '../pipeline/change-mapper.js';
import { Pipeline } from '../pipeline/pipeline.js';
import { createRelationCheck, type TableTypes } from '../pipeline/relation-check.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import { loadCrmCheckpoint } from '../postgres/sink/crm-checkpoint-store.js';
import { CrmSink } from '../postgres/sink/crm-sink.js';
import { takeStreamLock } from '../postgres/sink/stream-lock.js';
import type { OnBadRow } from '../writes/refuse-row.js';
import { startProgressReporter } from './progress-reporter.js';
import type { SessionContext } from './session.js';

export interface ReturnSessionOptions {
  readonly crmUrl: string;
  readonly mesUrl: string;
  readonly stream: string;
  /** Compiled to-crm mappings by bare MES table name. */
  readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  readonly onBadRow: OnBadRow;
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  readonly standby: boolean;
  readonly maxBatchWrites?: number;
  readonly maxBatchDelayMs?: number;
  /** Time between two progress lines, in milliseconds. */
  readonly progressIntervalMs: number;
}

/** How often the MES sends a heartbeat on an idle binlog, in milliseconds. */
const binlogHeartbeatMs = 5_000;

/**
 * A replica's server id must be unique on the MES; one per stream keeps it stable across
 * restarts, so a restarted session's dump replaces a dead one's instead of running beside it.
 */
function replicaServerId(stream: string): number {
  const hash = createHash('sha256').update(`millrace ${stream}`).digest();
  return 1_000_000 + (hash.readUInt32BE(0) % 1_000_000_000);
}

/**
 * One connected session of the return path (`direction: to-crm`): the MES binlog through the
 * same pipeline into the CRM, each batch committed with its binlog position on the CRM. The
 * stream's lock is held on the CRM writer's own session, like the forward direction's on the
 * MES writer's.
 */
export async function runReturnSession(
  options: ReturnSessionOptions,
  context: SessionContext,
): Promise<void> {
  const { releasers } = context;
  const writer = await connectWriter(options, context);
  if (writer === undefined) return;
  const checkpoint = await loadCrmCheckpoint(writer, options.stream);
  const control = releasers.hold(
    await connectTarget({
      url: options.mesUrl,
      timeoutMs: options.connectTimeoutMs,
      logger: options.logger,
    }),
    (held) => held.end(),
  );
  const { database, options: connection } = parseTargetUrl(options.mesUrl);
  const tables = [...options.mappingsByTable.keys()];
  const base = await binlogBase(control);
  const sink = releasers.hold(
    new CrmSink({
      client: writer,
      stream: options.stream,
      onBadRow: options.onBadRow,
      logger: options.logger.child({ component: 'writer' }),
      describePosition: (lsn) => {
        const position = decodeBinlogPosition(lsn);
        return {
          file: binlogFileName(base, position.fileIndex),
          position: BigInt(position.offset),
        };
      },
      onDeadLetter: (letter) => options.metrics?.deadLetter(letter.origin.mapping),
    }),
    (held) => held.release(),
  );
  const source = new BinlogSource({
    database,
    tables,
    startLsn: checkpoint.lsn,
    control,
    reader: new ZongjiReader({
      connection,
      database,
      tables,
      serverId: replicaServerId(options.stream),
      heartbeatMs: binlogHeartbeatMs,
    }),
    logger: options.logger.child({ component: 'source' }),
  });
  const pipeline = new Pipeline({
    mapper: new ChangeMapper({
      mappingsByTable: options.mappingsByTable,
      onBadRow: options.onBadRow,
    }),
    sink,
    source,
    slot: options.stream,
    checkpoint: checkpoint.lsn,
    checkRelation: await relationCheck(options, control),
    logger: options.logger.child({ component: 'pipeline' }),
    ...(options.metrics ? { observer: options.metrics } : {}),
    ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
    ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
  });
  releasers.add(() => source.stop());
  await source.start({
    event: (event) => pipeline.push(event),
    fail: (error) => pipeline.fail(error),
  });
  context.onReplicating(checkpoint.lsn);
  releasers.add(reportProgress(options, control, pipeline, base));
  await pipeline.run(context.signal);
  context.onStopping(pipeline.committedLsn());
}

/** The CRM writer's session and the stream's lock on it; undefined when stopped while waiting. */
async function connectWriter(
  options: ReturnSessionOptions,
  context: SessionContext,
): Promise<PgClient | undefined> {
  const writer = context.releasers.hold(
    await connectSource({
      url: options.crmUrl,
      timeoutMs: options.connectTimeoutMs,
      logger: options.logger,
    }),
    (held) => held.end(),
  );
  const lock = await takeStreamLock(writer, options.stream, {
    wait: options.standby || context.restarting,
    signal: context.signal,
    onWaiting: () => context.onStandby(null),
  });
  return lock === 'stopped' ? undefined : writer;
}

/**
 * The progress line and lag gauges: the binlog written after the checkpoint (server-wide, like
 * the forward direction's WAL), read from the file list the server keeps.
 */
function reportProgress(
  options: ReturnSessionOptions,
  control: MysqlConnection,
  pipeline: Pipeline,
  base: string,
): () => void {
  return startProgressReporter({
    lagBytes: async () => {
      const status = await readBinlogStatus(control, pipeline.committedLsn());
      return status.checkpoint && BigInt(status.checkpoint.bytesBehind);
    },
    committedLsn: () => pipeline.committedLsn(),
    formatPosition: (lsn) => formatBinlogPosition(base, decodeBinlogPosition(lsn)),
    queued: () => pipeline.queued(),
    logger: options.logger,
    intervalMs: options.progressIntervalMs,
    ...(options.metrics ? { metrics: options.metrics } : {}),
  });
}

/** The binlog files' base name (`mariadb-bin`), for spelling positions in the checkpoint row. */
async function binlogBase(control: MysqlConnection): Promise<string> {
  const files = await listBinlogFiles(control);
  return parseBinlogFileName(files[0]?.name ?? '')?.base ?? 'binlog';
}

/**
 * MySQL has no type OIDs: the binlog announces column names (type 0), so the check catches a
 * mapped MES column that was dropped or renamed, against the MES catalog.
 */
async function relationCheck(options: ReturnSessionOptions, control: MysqlConnection) {
  const readNames = async (table: string): Promise<TableTypes> => {
    const columns = (await introspectTarget(control, [table])).get(table)?.columns;
    return new Map([...(columns?.keys() ?? [])].map((name) => [name, 0]));
  };
  const compiledTypes = new Map<string, TableTypes>();
  for (const table of options.mappingsByTable.keys())
    compiledTypes.set(table, await readNames(table));
  return createRelationCheck({
    mappingsByTable: options.mappingsByTable,
    compiledTypes,
    readCurrentTypes: readNames,
  });
}
