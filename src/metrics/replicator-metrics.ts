import type { Counter } from 'prom-client';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { PipelineObserver } from '../pipeline/pipeline.js';
import type { MetricFamilies, StreamDirection } from './metric-families.js';

/**
 * Every mapping's series from the start: increase() cannot see a counter's first sample, so a
 * first dead letter would otherwise never reach the alert.
 */
function startAtZero(
  counter: Counter<'direction' | 'mapping'>,
  direction: StreamDirection,
  mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>,
): void {
  for (const mappings of mappingsByTable.values()) {
    for (const { name } of mappings) counter.inc({ direction, mapping: name }, 0);
  }
}

/**
 * One stream's Prometheus series (its `direction` label) in the shared metric families: what its
 * pipeline commits, its dead letters, lag, reconnects and state.
 */
export class ReplicatorMetrics implements PipelineObserver {
  private readonly families: MetricFamilies;
  private readonly direction: { readonly direction: StreamDirection };
  private readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  private lastSourceCommitMs = 0;
  private totalChanges = 0;

  /** `mappingsByTable`: the stream's mappings of each source table, to label change counts by mapping. */
  constructor(
    families: MetricFamilies,
    direction: StreamDirection,
    mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>,
  ) {
    this.families = families;
    this.direction = Object.freeze({ direction });
    this.mappingsByTable = mappingsByTable;
    startAtZero(families.deadLetters, direction, mappingsByTable);
    // The stream's series exist from the start, at 0, like unlabelled ones would.
    for (const each of [
      families.lagBytes,
      families.lagSeconds,
      families.checkpointTime,
      families.checkpointLsn,
      families.up,
      families.standby,
    ]) {
      each.set(this.direction, 0);
    }
    families.batchChanges.zero(this.direction);
    families.applySeconds.zero(this.direction);
  }

  committed(info: Parameters<PipelineObserver['committed']>[0]): void {
    const { families, direction } = this;
    for (const [table, byOperation] of info.changesByTable) {
      for (const { name } of this.mappingsByTable.get(table) ?? []) {
        for (const [operation, count] of byOperation) {
          families.changes.inc({ ...direction, mapping: name, operation }, count);
        }
      }
    }
    this.totalChanges += info.changes;
    families.batchChanges.observe(direction, info.changes);
    families.applySeconds.observe(direction, info.applyMs / 1000);
    families.checkpointTime.set(direction, Date.now() / 1000);
    families.checkpointLsn.set(direction, Number(info.lsn));
    if (info.sourceCommitMs > 0) {
      this.lastSourceCommitMs = info.sourceCommitMs;
      families.lagSeconds.set(direction, Math.max(0, (Date.now() - info.sourceCommitMs) / 1000));
    }
  }

  deadLetter(mapping: string): void {
    this.families.deadLetters.inc({ ...this.direction, mapping });
  }

  reconnected(database: 'source' | 'target'): void {
    this.families.reconnects.inc({ ...this.direction, database });
  }

  /** Bytes of the source's log past the applied position; caught up resets the seconds lag. */
  observeLag(bytes: bigint): void {
    this.families.lagBytes.set(this.direction, Number(bytes < 0n ? 0n : bytes));
    if (bytes <= 0n) this.families.lagSeconds.set(this.direction, 0);
  }

  /** The slot's WAL figures as `status` reads them; null figures leave their gauge unset. */
  observeSlot(
    slot: string,
    wal: { readonly retainedWalBytes: number | null; readonly safeWalSizeBytes: number | null },
  ): void {
    const labels = { ...this.direction, slot };
    if (wal.retainedWalBytes !== null)
      this.families.slotRetainedWal.set(labels, wal.retainedWalBytes);
    if (wal.safeWalSizeBytes === null) this.families.slotSafeWal.remove(labels);
    else this.families.slotSafeWal.set(labels, wal.safeWalSizeBytes);
  }

  setUp(up: boolean): void {
    this.families.up.set(this.direction, up ? 1 : 0);
  }

  setStandby(standby: boolean): void {
    this.families.standby.set(this.direction, standby ? 1 : 0);
  }

  /** Totals for the periodic progress line. */
  snapshot(): { readonly changes: number; readonly lastSourceCommitMs: number } {
    return { changes: this.totalChanges, lastSourceCommitMs: this.lastSourceCommitMs };
  }
}
