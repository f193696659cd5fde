import type { WriteChunk } from '../writes/write-chunk.js';

/** What one applied chunk did, for metrics and progress. */
export interface ChunkStats {
  readonly upserted: number;
  readonly deleted: number;
  readonly updated: number;
  readonly deadLetters: number;
}

/** The position a commit makes durable together with its rows. */
export interface Checkpoint {
  readonly slot: string;
  readonly lsn: bigint;
  /** The commit's GTID, for sources that have one. */
  readonly gtid?: string;
}

/**
 * The target side of the data path (the MySQL engine's writer is one). Chunks go into one open
 * target transaction; `commit` makes them durable together with the checkpoint, or nothing is.
 * After `rollback` the sink sends nothing more for that transaction, even for a write that was
 * in flight when it was called.
 */
export interface Sink {
  apply(chunk: WriteChunk): Promise<ChunkStats>;
  commit(extra: { readonly checkpoint?: Checkpoint }): Promise<void>;
  rollback(): Promise<void>;
}
