import { RuntimeFailure } from '../../errors/millrace-error.js';
import { sleep } from '../../util/sleep.js';
import type { PgClient } from '../pg-client.js';
import { pgBool } from '../sql-client.js';

interface StreamLockOptions {
  /** `run --standby`, or a restart whose old session the server may still hold: wait for it. */
  readonly wait: boolean;
  readonly signal: AbortSignal;
  /** Another session holds the lock and this one waits for it. */
  readonly onWaiting: () => void;
}

/** The advisory lock's key: the stream's name, hashed, apart from other users' locks. */
const lockKey = "hashtextextended('millrace to-crm ' || $1, 0)";

/** How often a waiting session asks again, in milliseconds. */
const pollMs = 1_000;

/**
 * The return stream's lock: a session advisory lock taken on the CRM writer's own session, so
 * only the session that holds it can write the stream's rows and checkpoint, and the server
 * frees it the moment that session ends (a crash, a cut connection). Keyed by the stream name,
 * so instances on other streams run beside it.
 */
export async function takeStreamLock(
  client: PgClient,
  stream: string,
  options: StreamLockOptions,
): Promise<'held' | 'waited' | 'stopped'> {
  let waited = false;
  for (;;) {
    const { rows } = await client.query(`SELECT pg_try_advisory_lock(${lockKey}) AS held`, [
      stream,
    ]);
    // The CRM client reads every value as text: 'f' is a string, and truthy.
    if (pgBool((rows[0] as { held: unknown } | undefined)?.held)) return waited ? 'waited' : 'held';
    if (!options.wait) {
      throw new RuntimeFailure(
        'REPLICATOR_RUNNING',
        `another millrace run replicates the to-crm stream ${stream} (it holds the stream's lock on the CRM); stop it first, or start this one with --standby`,
        { context: { stream } },
      );
    }
    if (!waited) options.onWaiting();
    waited = true;
    await sleep(pollMs, options.signal);
    if (options.signal.aborted) return 'stopped';
  }
}

/** Gives the lock back before the session ends (a command that held it for a moment). */
export async function releaseStreamLock(client: PgClient, stream: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${lockKey})`, [stream]);
}

/** Whether some session of this database holds the stream's lock: a `run` replicates it now. */
export async function streamLockHeld(client: PgClient, stream: string): Promise<boolean> {
  const { rows } = await client.query(
    `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((classid::bigint << 32) | objid::bigint) = ${lockKey}) AS held`,
    [stream],
  );
  return pgBool((rows[0] as { held: unknown } | undefined)?.held);
}
