import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Which stream a series belongs to: CRM → MES or MES → CRM. */
export type StreamDirection = 'to-mes' | 'to-crm';

/** A metric's extra labels (every stream metric also has `direction`) and a histogram's buckets. */
interface MetricShape<L extends string> {
  readonly labelNames?: readonly L[];
  readonly buckets?: number[];
}

/** Every stream metric's label names: `direction`, then its own. */
function labelNames<L extends string>(shape: MetricShape<L>): ('direction' | L)[] {
  return ['direction', ...(shape.labelNames ?? [])];
}

function counter<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<L> = {},
): Counter<'direction' | L> {
  return new Counter({ name, help, labelNames: labelNames(shape), registers: [registry] });
}

function gauge<L extends string = never>(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<L> = {},
): Gauge<'direction' | L> {
  return new Gauge({ name, help, labelNames: labelNames(shape), registers: [registry] });
}

function histogram(
  registry: Registry,
  name: string,
  help: string,
  shape: MetricShape<never>,
): Histogram<'direction'> {
  return new Histogram<'direction'>({
    name,
    help,
    labelNames: ['direction'],
    buckets: shape.buckets ?? [],
    registers: [registry],
  });
}

/**
 * Every metric `millrace run` serves, registered once. One registry serves both streams: each
 * stream writes its own series, told apart by the `direction` label. Names follow Prometheus
 * conventions (base units, `_total` for counters) so the alert rules in ops/prometheus work as
 * written.
 */
export class MetricFamilies {
  readonly registry: Registry;
  readonly changes: Counter<'direction' | 'mapping' | 'operation'>;
  readonly batchChanges: Histogram<'direction'>;
  readonly applySeconds: Histogram<'direction'>;
  readonly lagBytes: Gauge<'direction'>;
  readonly lagSeconds: Gauge<'direction'>;
  readonly deadLetters: Counter<'direction' | 'mapping'>;
  readonly reconnects: Counter<'direction' | 'database'>;
  readonly checkpointTime: Gauge<'direction'>;
  readonly checkpointLsn: Gauge<'direction'>;
  readonly up: Gauge<'direction'>;
  readonly standby: Gauge<'direction'>;
  readonly slotRetainedWal: Gauge<'direction' | 'slot'>;
  readonly slotSafeWal: Gauge<'direction' | 'slot'>;

  constructor(registry = new Registry()) {
    this.registry = registry;
    collectDefaultMetrics({ register: registry, prefix: 'millrace_' });
    this.changes = counter(
      registry,
      'millrace_changes_total',
      'Source row changes applied, by direction, mapping and operation',
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
      "Bytes of the source's log between its end and the applied position (to-mes: CRM WAL, acknowledged to the slot, the keepalive position while idle; to-crm: MES binlog after the checkpoint)",
    );
    this.lagSeconds = gauge(
      registry,
      'millrace_lag_seconds',
      'Seconds between the source commit time of the last applied transaction and its apply on the target (0 when caught up)',
    );
    this.deadLetters = counter(
      registry,
      'millrace_dead_letters_total',
      "Rows sent to the target's dead letters, by direction and mapping",
      { labelNames: ['mapping'] },
    );
    this.reconnects = counter(
      registry,
      'millrace_reconnects_total',
      'Reconnections after a database outage, by direction and database (source, target)',
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
      'Last checkpointed position as a number (to-mes: commit end LSN; to-crm: binlog file index << 32 | offset)',
    );
    this.up = gauge(registry, 'millrace_up', '1 while replicating, 0 while a database is away');
    this.standby = gauge(
      registry,
      'millrace_standby',
      '1 while this instance waits for the active one to release the lock (run --standby)',
    );
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
}
