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

/** Takes the lock without waiting; fails with exit 3 when another session holds it. */
export async function acquireReplicatorLock(
  connection: MysqlConnection,
  database: string,
  slot: string,
): Promise<void> {
  const name = lockName(database, slot);
  const [rows] = await connection.query(
    'SELECT GET_LOCK(?, 0) AS acquired, IS_USED_LOCK(?) AS holder',
    [name, name],
  );
  const row = (rows as { acquired: number | string | null; holder: number | string | null }[])[0];
  if (Number(row?.acquired) === 1) return;
  throw new RuntimeFailure(
    'REPLICATOR_RUNNING',
    `another millrace run already replicates slot '${slot}' into ${database} (MySQL connection ${row?.holder ?? '?'}); stop it first, or give this one its own --slot`,
    { context: { slot, database } },
  );
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
