import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { indexMappingsBySource } from '../mapping/mapping-index.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import { decodeBinlogPosition } from '../mysql/binlog/binlog-position.js';
import type { OnBadRow } from '../writes/refuse-row.js';
import { Replicator } from './replicator.js';
import { type ReturnSessionOptions, runReturnSession } from './return-session.js';

export interface ToCrmOptions {
  /** The CRM, written. */
  readonly sourceUrl: string;
  /** The MES, whose binlog is read. */
  readonly targetUrl: string;
  /** The stream's name: its checkpoint row, lock and replication origin (the slot's name). */
  readonly stream: string;
  /** Compiled `to-crm` mappings. */
  readonly mappings: readonly CompiledMapping[];
  readonly onBadRow: OnBadRow;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  readonly standby?: boolean;
  readonly maxBatchWrites?: number;
  readonly maxBatchDelayMs?: number;
  /** How often a progress line is logged, in milliseconds. */
  readonly progressIntervalMs?: number;
}

/** The MES → CRM direction: the MES binlog into the CRM's tables. */
export function toCrmReplicator(options: ToCrmOptions): Replicator {
  const logger = options.logger.child({ direction: 'to-crm' });
  const sessionOptions: ReturnSessionOptions = {
    crmUrl: options.sourceUrl,
    mesUrl: options.targetUrl,
    stream: options.stream,
    mappingsByTable: indexMappingsBySource(options.mappings),
    onBadRow: options.onBadRow,
    connectTimeoutMs: options.connectTimeoutMs,
    logger,
    standby: options.standby === true,
    progressIntervalMs: options.progressIntervalMs ?? 10_000,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
    ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
  };
  return new Replicator({
    sourceSide: 'mes',
    standby: options.standby === true,
    identity: { stream: options.stream },
    // The file's base name is the server's; the state line names the file by its number.
    formatPosition: (position) => {
      const { fileIndex, offset } = decodeBinlogPosition(position);
      return `binlog file ${fileIndex} offset ${offset}`;
    },
    connectTimeoutMs: options.connectTimeoutMs,
    logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    session: (connectTimeoutMs, context) =>
      runReturnSession({ ...sessionOptions, connectTimeoutMs }, context),
  });
}
