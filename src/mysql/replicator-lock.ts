import { markError } from '../errors/error-origin.js';
import { RuntimeFailure } from '../errors/millrace-error.js';
import type { MysqlConnection } from './mysql-client.js';

/**
 * One active replicator per slot and target database: a MySQL named lock held by a dedicated
 * session for as long as the replicator runs. The server releases it when that session ends,
 * so a crashed replicator never leaves it behind.
 */
export function lockName(database: string, slot: string): string {
  // GET_LOCK names are limited to 64 characters.
  return `millrace:${database}:${slot}`.slice(0, 64);
}

interface LockAttempt {
  readonly acquired: boolean;
  /** The server's connection id of the session holding the lock, when another one does. */
  readonly holder: string | null;
}

/** One GET_LOCK, waiting at most `seconds` on the server for the holder to let go. */
async function tryReplicatorLock(
  connection: MysqlConnection,
  name: string,
  seconds: number,
): Promise<LockAttempt> {
  const [rows] = await connection.query(
    'SELECT GET_LOCK(?, ?) AS acquired, IS_USED_LOCK(?) AS holder',
    [name, seconds, name],
  );
  const row = (rows as { acquired: number | string | null; holder: number | string | null }[])[0];
  // NULL (the wait was interrupted, e.g. KILL QUERY) counts as not acquired.
  return {
    acquired: Number(row?.acquired) === 1,
    holder: row?.holder === null || row?.holder === undefined ? null : String(row.holder),
  };
}

/** Takes the lock without waiting; fails with exit 3 when another session holds it. */
export async function acquireReplicatorLock(
  connection: MysqlConnection,
  database: string,
  slot: string,
): Promise<void> {
  const attempt = await tryReplicatorLock(connection, lockName(database, slot), 0);
  if (attempt.acquired) return;
  throw new RuntimeFailure(
    'REPLICATOR_RUNNING',
    `another millrace run already replicates slot '${slot}' into ${database} (MySQL connection ${attempt.holder ?? '?'}); stop it first, or give this one its own --slot`,
    { context: { slot, database } },
  );
}

interface LockWaitOptions {
  readonly database: string;
  readonly slot: string;
  /** Stops the wait; the lock is then not taken. */
  readonly signal: AbortSignal;
  /** Called when the lock is found taken, with the holder's connection id, before waiting. */
  readonly onWaiting: (holder: string | null) => void;
  /** The longest single GET_LOCK wait, in seconds. */
  readonly waitSeconds?: number;
}

/**
 * `run --standby`: waits on `connection` until the lock is free and takes it there, so the
 * session that waited is the one that holds it and writes. The server hands the lock over the
 * moment its holder's session ends. Each GET_LOCK waits a bounded time, so a stop is honoured
 * within that time, and the waiting session sends a statement every few seconds: it never looks
 * idle to `wait_timeout` or to a proxy's idle timeout. Resolves true once held, false when
 * stopped first.
 */
export async function waitForReplicatorLock(
  connection: MysqlConnection,
  options: LockWaitOptions,
): Promise<boolean> {
  const name = lockName(options.database, options.slot);
  const first = await tryReplicatorLock(connection, name, 0);
  if (first.acquired) return true;
  options.onWaiting(first.holder);
  while (!options.signal.aborted) {
    const attempt = await tryReplicatorLock(connection, name, options.waitSeconds ?? 2);
    if (attempt.acquired) return true;
  }
  return false;
}

interface LockWatchOptions {
  /** A session other than the holder's, to ask the server who holds the lock. */
  readonly observer: MysqlConnection;
  readonly database: string;
  readonly slot: string;
  /** The server's connection id of the session that took the lock (the writer's). */
  readonly holderId: number;
  /** Called once when the lock is no longer held by `holderId`. */
  readonly onLost: (error: RuntimeFailure) => void;
  /** How often the holder is checked, in milliseconds. */
  readonly intervalMs?: number;
}

/**
 * Fences the replicator: the lock lives on the writer's own session, so a write can only reach
 * the server through the session that holds it; this watch notices a holder the server gave up
 * (KILL, wait_timeout, a proxy that dropped it) while the writer is idle, so the session fails
 * and re-acquires instead of running unfenced beside an offline backfill. Returns a stop function.
 */
export function watchReplicatorLock(options: LockWatchOptions): () => void {
  const name = lockName(options.database, options.slot);
  let done = false;
  const lost = (detail: string) => {
    if (done) return;
    done = true;
    clearInterval(timer);
    const error = new RuntimeFailure(
      'LOCK_LOST',
      `the replicator lock for slot '${options.slot}' was lost (${detail}); stopped writing and re-acquiring it`,
      { context: { slot: options.slot, database: options.database } },
    );
    options.onLost(markError(error, 'mes', true));
  };
  const check = async () => {
    const [rows] = await options.observer.query('SELECT IS_USED_LOCK(?) AS holder', [name]);
    const holder = (rows as { holder: number | string | null }[])[0]?.holder;
    if (holder === null || holder === undefined || Number(holder) !== options.holderId) {
      lost(holder === null ? 'nobody holds it' : `MySQL connection ${holder} holds it`);
    }
  };
  const timer = setInterval(() => {
    // An observer that fails is the session's own outage, reported through its connection.
    void check().catch(() => undefined);
  }, options.intervalMs ?? 5_000);
  timer.unref();
  return () => {
    done = true;
    clearInterval(timer);
  };
}
