import { randomUUID } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import type { ChangeMeta, SourceRow } from '../mapping/compiled-mapping.js';
import type { ChangeEvent, MessageEvent, TruncateEvent } from '../pipeline/source-event.js';
import type { StreamInterceptor } from '../pipeline/stream-interceptor.js';
import type { Lsn } from '../util/lsn.js';
import { rowKeyIdentity } from '../values/key-text.js';
import type { TargetBatch } from '../writes/target-batch.js';

/** The logical message prefix of watermarks (the source forwards `millrace…` messages only). */
export const watermarkPrefix = 'millrace.watermark';

/** A source table whose changes a window watches, and the columns that identify a row. */
export interface WatchedTable {
  /** `schema.table`, as change events name it. */
  readonly table: string;
  /** Source columns whose text forms identify the row (the mapping's key columns). */
  readonly keyColumns: readonly string[];
}

/**
 * What a window writes at its high watermark: the chunk's rows (or removals), leaving out every
 * row whose identity a streamed change in the window owns. Returns counts for progress.
 */
type WindowPayload = (
  batch: TargetBatch,
  meta: ChangeMeta,
  changed: (watched: number, identity: string) => boolean,
) => WindowCounts;

interface WindowCounts {
  readonly copied: number;
  readonly removed: number;
  readonly deadLetters: number;
}

export type WindowResult =
  | ({ readonly kind: 'applied'; readonly lsn: Lsn } & WindowCounts)
  | { readonly kind: 'retry'; readonly reason: string };

/** One open window, from the driver's side. */
export interface WindowHandle {
  readonly id: string;
  /** The watermark message bodies to emit, low before reading, high after. */
  readonly low: string;
  readonly high: string;
  /** Sets what to write at the high watermark; must be called before the high one is emitted. */
  setPayload(payload: WindowPayload): void;
  /** Settles when the pipeline reached the high watermark (or the window had to be given up). */
  readonly done: Promise<WindowResult>;
}

interface Window {
  readonly id: string;
  readonly watched: readonly WatchedTable[];
  open: boolean;
  poisoned: string | undefined;
  /** Identities changed in the window, per watched table index. */
  readonly changed: Set<string>[];
  payload: WindowPayload | undefined;
  settle(result: WindowResult): void;
}

/**
 * The stream side of the online backfill (DBLog, Netflix 2020). The driver emits a low
 * watermark, reads a chunk, emits a high watermark; the watermarks come back through the
 * replication stream in commit order. Between them this interceptor records which rows of the
 * watched tables the stream changed; at the high watermark it adds the chunk's rows, minus those,
 * to the batch of the watermark's own transaction. A chunk row therefore lands at a stream
 * position where it is still the source's current state (no change to it in between), and a
 * row the stream changed keeps the stream's newer version: exactly once, never stale.
 */
export class WatermarkInterceptor implements StreamInterceptor {
  private readonly windows = new Map<string, Window>();
  private readonly session = randomUUID().slice(0, 8);
  private sequence = 0;
  private readonly logger: Logger;

  constructor(options: { readonly logger: Logger }) {
    this.logger = options.logger;
  }

  /** Opens a window over changes to `watched`; the caller emits its watermarks. */
  open(watched: readonly WatchedTable[], label: string): WindowHandle {
    const id = `${this.session}-${++this.sequence}`;
    let settle!: (result: WindowResult) => void;
    const done = new Promise<WindowResult>((resolve) => {
      settle = resolve;
    });
    const window: Window = {
      id,
      watched,
      open: false,
      poisoned: undefined,
      changed: watched.map(() => new Set<string>()),
      payload: undefined,
      settle: (result) => {
        this.windows.delete(id);
        settle(result);
      },
    };
    this.windows.set(id, window);
    const body = (mark: 'low' | 'high') => JSON.stringify({ id, mark, backfill: label });
    return {
      id,
      low: body('low'),
      high: body('high'),
      setPayload: (payload) => {
        window.payload = payload;
      },
      done,
    };
  }

  /** Windows opened and not yet settled (each one records the changed keys of its tables). */
  get openWindows(): number {
    return this.windows.size;
  }

  /** Gives up one window: its high watermark then writes nothing. */
  cancel(id: string): void {
    this.windows.get(id)?.settle({ kind: 'retry', reason: 'cancelled' });
  }

  /** Gives up every window (the driver stops); nothing more is written for them. */
  cancelAll(reason: string): void {
    for (const window of [...this.windows.values()]) window.settle({ kind: 'retry', reason });
  }

  onMessage(
    event: MessageEvent,
    context: { readonly batch: TargetBatch; readonly meta: ChangeMeta },
  ): void {
    if (event.prefix !== watermarkPrefix) return;
    let mark: { id?: unknown; mark?: unknown };
    try {
      mark = JSON.parse(event.content) as typeof mark;
    } catch {
      return;
    }
    // Watermarks of an earlier session (replayed after a restart) belong to no open window.
    const window = typeof mark.id === 'string' ? this.windows.get(mark.id) : undefined;
    if (!window) return;
    if (mark.mark === 'low') {
      window.open = true;
      return;
    }
    if (mark.mark !== 'high') return;
    if (!window.open) {
      window.settle({ kind: 'retry', reason: 'the low watermark was not seen' });
      return;
    }
    if (window.poisoned !== undefined) {
      window.settle({ kind: 'retry', reason: window.poisoned });
      return;
    }
    const counts = window.payload
      ? window.payload(context.batch, context.meta, (watched, identity) =>
          window.changed[watched]!.has(identity),
        )
      : { copied: 0, removed: 0, deadLetters: 0 };
    // The rows commit with the watermark's transaction: durable once the checkpoint passes it.
    window.settle({ kind: 'applied', lsn: context.meta.lsn, ...counts });
  }

  onChange(event: ChangeEvent): void {
    for (const window of this.windows.values()) {
      if (!window.open) continue;
      window.watched.forEach((watched, index) => {
        if (watched.table !== event.table) return;
        this.record(window, index, watched, event.row);
        this.record(window, index, watched, event.old);
      });
    }
  }

  /**
   * A TRUNCATE inside a window empties the table at a position the chunk's rows would follow:
   * the chunk is dropped and read again after it.
   */
  onTruncate(event: TruncateEvent): void {
    for (const window of this.windows.values()) {
      if (!window.open) continue;
      if (window.watched.some((watched) => event.tables.includes(watched.table))) {
        window.poisoned = 'the table was truncated during the chunk';
        this.logger.info({ window: window.id }, 'backfill chunk read again after a TRUNCATE');
      }
    }
  }

  private record(
    window: Window,
    index: number,
    watched: WatchedTable,
    row: SourceRow | null,
  ): void {
    if (row === null) return;
    const identity = rowKeyIdentity(row, watched.keyColumns);
    if (identity !== undefined) window.changed[index]!.add(identity);
  }
}
