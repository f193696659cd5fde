import type { ChangeMeta } from '../mapping/compiled-mapping.js';
import type { TargetBatch } from '../writes/target-batch.js';
import type { ChangeEvent, MessageEvent, TruncateEvent } from './source-event.js';

/**
 * A hook into the stream, in stream order: the online backfill (DBLog watermarks) sees which
 * keys changed between its watermarks and adds its chunk rows to the batch at the high one.
 */
export interface StreamInterceptor {
  /** A `millrace…` logical message; rows added to `batch` commit with this transaction. */
  onMessage(
    event: MessageEvent,
    context: { readonly batch: TargetBatch; readonly meta: ChangeMeta },
  ): void;
  /** A change to a mapped table, after it was mapped. */
  onChange(event: ChangeEvent): void;
  /** A TRUNCATE of mapped tables, before its resets are written. */
  onTruncate(event: TruncateEvent): void;
}
