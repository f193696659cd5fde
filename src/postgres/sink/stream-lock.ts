import { RuntimeFailure } from '../../errors/millrace-error.js';
import { sleep } from '../../util/sleep.js';
import { advisoryLockHolder, releaseAdvisoryLock, tryAdvisoryLock } from '../advisory-lock.js';
import type { PgClient } from '../pg-client.js';

interface StreamLockOptions {
  /** `run --standby`, or a restart whose old session the server may still hold: wait for it. */
  readonly wait: boolean;
  readonly signal: AbortSignal;
  /** Another session holds the lock and this one waits for it. */
  readonly onWaiting: () => void;
}

/** The advisory lock's label: the stream's name, apart from other users' locks. */
function streamLabel(stream: string): string {
  return `millrace to-crm ${stream}`;
}

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
    if (await tryAdvisoryLock(client, streamLabel(stream))) return waited ? 'waited' : 'held';
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
  await releaseAdvisoryLock(client, streamLabel(stream));
}

/** Whether some session of this database holds the stream's lock: a `run` replicates it now. */
export async function streamLockHeld(client: PgClient, stream: string): Promise<boolean> {
  return (await advisoryLockHolder(client, streamLabel(stream))) !== undefined;
}
