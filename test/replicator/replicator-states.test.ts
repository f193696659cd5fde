import { describe, expect, it } from 'vitest';
import { markError } from '../../src/errors/error-origin.js';
import { silentLogger } from '../../src/log/logger.js';
import { Replicator } from '../../src/replicator/replicator.js';
import type { SessionContext } from '../../src/replicator/session.js';

/** A dropped connection to the MES, as the drivers report one. */
function lostMes(): Error {
  const error = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
  return markError(error, 'mes', true);
}

/**
 * A replicator whose first session replicates and then loses the MES; the second waits for the
 * lock (the server still keeps it for the dead session) and reports the state it is shown in.
 */
async function stateWhileWaitingAfterOutage(standby: boolean): Promise<string> {
  const stop = new AbortController();
  let sessions = 0;
  let seen = '';
  const replicator: Replicator = new Replicator({
    sourceSide: 'crm',
    identity: { slot: 'states' },
    connectTimeoutMs: 1_000,
    standby,
    logger: silentLogger(),
    session: async (_timeout: number, context: SessionContext) => {
      sessions += 1;
      if (sessions === 1) {
        context.onReplicating(0n);
        throw lostMes();
      }
      context.onStandby('17');
      seen = replicator.health().detail;
      stop.abort();
    },
  });
  await replicator.run(stop.signal);
  return seen;
}

describe('replicator states', () => {
  it('a restart waiting for its own lost session’s lock is not a standby', async () => {
    expect(await stateWhileWaitingAfterOutage(false)).toBe('reclaiming lock');
  });

  it('a standby waiting for the lock again stands by', async () => {
    expect(await stateWhileWaitingAfterOutage(true)).toBe('standby');
  });
});
