import type { Logger } from '../log/logger.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { indexMappingsBySource } from '../mapping/mapping-index.js';
import type { ReplicatorMetrics } from '../metrics/replicator-metrics.js';
import type { OnBadRow } from '../writes/refuse-row.js';
import { Replicator } from './replicator.js';
import { runSession, type SessionOptions } from './session.js';

export interface ToMesOptions {
  readonly sourceUrl: string;
  readonly targetUrl: string;
  readonly slot: string;
  readonly publication: string;
  readonly mappings: readonly CompiledMapping[];
  readonly onBadRow: OnBadRow;
  /** Idle time after which the slot is advanced anyway, in seconds. */
  readonly heartbeatSeconds: number;
  /** Start-up connect timeout, in milliseconds. */
  readonly connectTimeoutMs: number;
  readonly logger: Logger;
  readonly metrics?: ReplicatorMetrics;
  /** Batch bounds, for tests and tuning. */
  readonly maxBatchWrites?: number;
  readonly maxBatchDelayMs?: number;
  /** How often a progress line is logged, in milliseconds. */
  readonly progressIntervalMs?: number;
  /** `run --standby`: wait for the active instance's lock instead of exiting 3. */
  readonly standby?: boolean;
}

/** The CRM → MES direction: the slot's pgoutput stream into the MES staging tables. */
export function toMesReplicator(options: ToMesOptions): Replicator {
  const sessionOptions: SessionOptions = {
    sourceUrl: options.sourceUrl,
    targetUrl: options.targetUrl,
    slot: options.slot,
    publication: options.publication,
    mappings: options.mappings,
    mappingsByTable: indexMappingsBySource(options.mappings),
    onBadRow: options.onBadRow,
    heartbeatMs: options.heartbeatSeconds * 1000,
    connectTimeoutMs: options.connectTimeoutMs,
    logger: options.logger,
    progressIntervalMs: options.progressIntervalMs ?? 10_000,
    standby: options.standby === true,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.maxBatchWrites ? { maxBatchWrites: options.maxBatchWrites } : {}),
    ...(options.maxBatchDelayMs ? { maxBatchDelayMs: options.maxBatchDelayMs } : {}),
  };
  return new Replicator({
    sourceSide: 'crm',
    standby: options.standby === true,
    identity: { slot: options.slot },
    connectTimeoutMs: options.connectTimeoutMs,
    logger: options.logger,
    ...(options.metrics ? { metrics: options.metrics } : {}),
    session: (connectTimeoutMs, context) =>
      runSession({ ...sessionOptions, connectTimeoutMs }, context),
  });
}
