import type { Lsn } from '../util/lsn.js';
import type { SourceEvent } from './source-event.js';

/** Where a change source delivers: every event in stream order, and the one failure that ends it. */
export interface ChangeHandler {
  /** Receives every decoded event, in order. Must not throw. */
  event(event: SourceEvent): void;
  /** The stream failed or ended unexpectedly; the session restarts from the checkpoint. */
  fail(error: unknown): void;
}

/**
 * A stream of committed source transactions (the PostgreSQL engine's pgoutput reader is one).
 * Positions are commit end LSNs; the source never moves its server-side position past what was
 * acknowledged.
 */
export interface ChangeSource {
  /** Starts streaming after the checkpoint; resolves once the server accepted the stream. */
  start(handler: ChangeHandler): Promise<void>;
  /** Everything up to this commit end position is durable on the target. */
  acknowledge(position: Lsn): void;
  /** Backpressure: stop or resume reading. */
  pause(paused: boolean): void;
  stop(): Promise<void>;
}
