import type { Logger } from '../log/logger.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { acquireReplicatorLock, waitForReplicatorLock } from '../mysql/replicator-lock.js';
import type { PgClient } from '../postgres/pg-client.js';
import { readSlotStatus } from '../postgres/slot-status.js';

import { sleep } from '../util/sleep.js';

interface LockTakeOptions {
  readonly database: string;
  readonly slot: string;
  /** `run --standby`: wait for the holder to go instead of failing with REPLICATOR_RUNNING. */
  readonly standby: boolean;
  /** A restart after an outage: the server may still hold the lock for our old session. */
  readonly restarting: boolean;
  readonly signal: AbortSignal;
  /** Another session holds the lock and this one waits for it (a standby, or a restart). */
  readonly onStandby: (holder: string | null) => void;
}

/**
 * How the session came to hold the lock: at once, after waiting for another holder (a takeover:
 * that holder's stream may still be on its way out), or not at all because it was stopped.
 */
type LockOutcome = 'held' | 'waited' | 'stopped';

/** Takes the replicator lock on the writer's session, before anything is written. */
export async function takeReplicatorLock(
  connection: MysqlConnection,
  options: LockTakeOptions,
): Promise<LockOutcome> {
  // A standby waits for the holder; so does a restart, whose lock the server may still keep for
  // the old session, or an offline backfill may have taken in the gap: it is ours again once
  // that holder is gone, and nothing is written meanwhile.
  if (options.standby || options.restarting) {
    let waited = false;
    const held = await waitForReplicatorLock(connection, {
      database: options.database,
      slot: options.slot,
      signal: options.signal,
      onWaiting: (holder) => {
        waited = true;
        options.onStandby(holder);
      },
    });
    if (!held) return 'stopped';
    return waited ? 'waited' : 'held';
  }
  await acquireReplicatorLock(connection, options.database, options.slot);
  return 'held';
}

/**
 * How long a previous holder's walsender is given to leave the slot, in milliseconds: past
 * PostgreSQL's default wal_sender_timeout (60 s), after which the server drops a stream whose
 * client vanished without closing its connection.
 */
const slotReleaseMs = 90_000;

/**
 * After a takeover or a restart the lock is ours, but the previous session's walsender may not
 * have noticed yet that its client is gone: wait for the slot to be free rather than fail with
 * SLOT_IN_USE. A slot still busy after the grace period is left for the stream's own start to
 * report.
 */
export async function waitForSlotRelease(
  catalog: PgClient,
  slot: string,
  signal: AbortSignal,
  logger: Logger,
): Promise<void> {
  const deadline = Date.now() + slotReleaseMs;
  for (let polls = 0; !signal.aborted && Date.now() < deadline; polls++) {
    const status = await readSlotStatus(catalog, slot);
    if (!status?.active) return;
    // Said once, and only when it lasts: usually the old stream is gone within a poll or two.
    if (polls === 5) {
      logger.info(
        { slot, pid: status.activePid },
        'waiting for the previous stream to leave the slot',
      );
    }
    await sleep(200, signal);
  }
}
