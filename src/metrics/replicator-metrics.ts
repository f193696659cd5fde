import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import type { PipelineObserver } from '../pipeline/pipeline.js';

/** A metric's labels and, for a histogram, its buckets. */
interface MetricShape<L extends string> {
  readonly labelNames?: readonly L[];
  readonly buckets?: number[];
}

function counter<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<L> = {},
): Counter<L> {
  return new Counter<L>({ name, help, labelNames: shape.labelNames ?? [], registers: [registry] });
}

function gauge<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<L> = {},
): Gauge<L> {
  return new Gauge<L>({ name, help, labelNames: shape.labelNames ?? [], registers: [registry] });
}

function histogram(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<never>,
): Histogram {
  return new Histogram({ name, help, buckets: shape.buckets ?? [], registers: [registry] });
}

/**
 * Every mapping's series from the start: increase() cannot see a counter's first sample, so a
 * first dead letter would otherwise never reach the alert.
 */
function startAtZero(
  counter: Counter<'mapping'>,
  mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>,
): void {
  for (const mappings of mappingsByTable.values()) {
    for (const { name } of mappings) counter.inc({ mapping: name }, 0);
  }
}

/**
 * The replicator's Prometheus metrics. Names follow Prometheus conventions (base units,
 * `_total` for counters) so the alert rules in ops/prometheus work as written.
 */
export class ReplicatorMetrics implements PipelineObserver {
  readonly registry: Registry;
  private readonly changes: Counter<'mapping' | 'operation'>;
  private readonly batchChanges: Histogram;
  private readonly applySeconds: Histogram;
  private readonly lagBytes: Gauge;
  private readonly lagSeconds: Gauge;
  private readonly deadLetters: Counter<'mapping'>;
  private readonly reconnects: Counter<'database'>;
  private readonly checkpointTime: Gauge;
  private readonly checkpointLsn: Gauge;
  private readonly up: Gauge;
  private readonly standby: Gauge;
  private readonly slotRetainedWal: Gauge<'slot'>;
  private readonly slotSafeWal: Gauge<'slot'>;
  private readonly mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>;
  private lastSourceCommitMs = 0;
  private totalChanges = 0;

  /** `mappingsByTable`: the mappings of each source table, to label change counts by mapping. */
  constructor(
    mappingsByTable: ReadonlyMap<string, readonly CompiledMapping[]>,
    registry = new Registry(),
  ) {
    this.registry = registry;
    this.mappingsByTable = mappingsByTable;
    collectDefaultMetrics({ register: registry, prefix: 'millrace_' });
    this.changes = counter(
      registry,
      'millrace_changes_total',
      'Source row changes applied, by mapping and operation',
      { labelNames: ['mapping', 'operation'] },
    );
    this.batchChanges = histogram(
      registry,
      'millrace_batch_changes',
      'Source row changes per target transaction',
      { buckets: [1, 10, 100, 500, 1_000, 2_500, 5_000, 10_000] },
    );
    this.applySeconds = histogram(
      registry,
      'millrace_batch_apply_seconds',
      'Time to write and commit one batch on the target',
      { buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
    );
    this.lagBytes = gauge(
      registry,
      'millrace_lag_bytes',
      'WAL bytes between the server position and the position acknowledged to the slot (applied commits; while idle, the keepalive position)',
    );
    this.lagSeconds = gauge(
      registry,
      'millrace_lag_seconds',
      'Seconds between the last applied source commit and its apply on the target (0 when caught up)',
    );
    this.deadLetters = counter(
      registry,
      'millrace_dead_letters_total',
      'Rows sent to millrace_dead_letters, by mapping',
      { labelNames: ['mapping'] },
    );
    startAtZero(this.deadLetters, mappingsByTable);
    this.reconnects = counter(
      registry,
      'millrace_reconnects_total',
      'Reconnections after a database outage, by database (source, target)',
      { labelNames: ['database'] },
    );
    this.checkpointTime = gauge(
      registry,
      'millrace_last_checkpoint_timestamp_seconds',
      'Unix time of the last checkpoint committed on the target',
    );
    this.checkpointLsn = gauge(
      registry,
      'millrace_checkpoint_lsn',
      'Last checkpointed commit end LSN, as a number',
    );
    this.up = gauge(registry, 'millrace_up', '1 while replicating, 0 while a database is away');
    this.standby = gauge(
      registry,
      'millrace_standby',
      '1 while this instance waits for the active one to release the lock (run --standby)',
    );
    this.standby.set(0);
    // Labelled by slot so that neither appears before the first reading: a default 0 would
    // read as "no WAL left before invalidation".
    this.slotRetainedWal = gauge(
      registry,
      'millrace_slot_retained_wal_bytes',
      'WAL the CRM keeps for the slot (current position - restart_lsn), in bytes',
      { labelNames: ['slot'] },
    );
    this.slotSafeWal = gauge(
      registry,
      'millrace_slot_safe_wal_bytes',
      'WAL the CRM may still write before it invalidates the slot (absent: max_slot_wal_keep_size unlimited)',
      { labelNames: ['slot'] },
    );
  }

  committed(info: Parameters<PipelineObserver['committed']>[0]): void {
    for (const [table, byOperation] of info.changesByTable) {
      for (const { name } of this.mappingsByTable.get(table) ?? []) {
        for (const [operation, count] of byOperation) {
          this.changes.inc({ mapping: name, operation }, count);
        }
      }
    }
    this.totalChanges += info.changes;
    this.batchChanges.observe(info.changes);
    this.applySeconds.observe(info.applyMs / 1000);
    this.checkpointTime.set(Date.now() / 1000);
    this.checkpointLsn.set(Number(info.lsn));
    if (info.sourceCommitMs > 0) {
      this.lastSourceCommitMs = info.sourceCommitMs;
      this.lagSeconds.set(Math.max(0, (Date.now() - info.sourceCommitMs) / 1000));
    }
  }

  deadLetter(mapping: string): void {
    this.deadLetters.inc({ mapping });
  }

  reconnected(database: 'source' | 'target'): void {
    this.reconnects.inc({ database });
  }

  /** Server WAL position minus applied position, in bytes; caught up resets the seconds lag. */
  observeLag(bytes: bigint): void {
    this.lagBytes.set(Number(bytes < 0n ? 0n : bytes));
    if (bytes <= 0n) this.lagSeconds.set(0);
  }

  /** The slot's WAL figures as `status` reads them; null figures leave their gauge unset. */
  observeSlot(
    slot: string,
    wal: { readonly retainedWalBytes: number | null; readonly safeWalSizeBytes: number | null },
  ): void {
    if (wal.retainedWalBytes !== null) this.slotRetainedWal.set({ slot }, wal.retainedWalBytes);
    if (wal.safeWalSizeBytes === null) this.slotSafeWal.remove({ slot });
    else this.slotSafeWal.set({ slot }, wal.safeWalSizeBytes);
  }

  setUp(up: boolean): void {
    this.up.set(up ? 1 : 0);
  }

  setStandby(standby: boolean): void {
    this.standby.set(standby ? 1 : 0);
  }

  /** Totals for the periodic progress line. */
  snapshot(): { readonly changes: number; readonly lastSourceCommitMs: number } {
    return { changes: this.totalChanges, lastSourceCommitMs: this.lastSourceCommitMs };
  }
}
