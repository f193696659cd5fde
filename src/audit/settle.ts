import type { Logger } from '../log/logger.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { readCheckpoint } from '../mysql/sql/checkpoint.js';
import type { PgClient } from '../postgres/pg-client.js';
import { formatLsn, type Lsn, parseLsn } from '../util/lsn.js';
import { sleep } from '../util/sleep.js';
import { querySource } from './source-reader.js';
import type { PgStatement } from './sql/pg-statement.js';
import { selectReadPosition } from './sql/read-position.js';
import { selectSlotActivity } from './sql/slot-activity.js';
import { emitWakeMessage } from './sql/wake-message.js';
import { queryRows } from './target-reader.js';

/**
 * Where replication stands, for the lag-aware re-check (docs/architecture.md): the CRM's
 * read position, whether a replicator is attached to the slot, and how far the MES has applied
 * the stream. Both the checkpoint row (written in the same MySQL transaction as the rows) and
 * the slot's confirmed_flush_lsn (moved only after such a commit, or by a keepalive when
 * nothing is pending) say "everything committed up to here is on the target".
 */
export interface ReplicationProbe {
  /** The CRM's current position: every transaction a read made before this call has seen ends at or below it. */
  readPosition(): Promise<Lsn>;
  /** Whether a replicator is streaming from the slot now. */
  replicatorActive(): Promise<boolean>;
  /** The highest position known to be applied on the target. */
  appliedPosition(): Promise<Lsn>;
  /** Makes the replicator commit past the current position even when mapped tables are idle. */
  wake(): Promise<void>;
  /**
   * Wake again this often while waiting (ms), for a replicator that checkpoints an idle stream's
   * position only now and then; undefined: once is enough.
   */
  readonly wakeEveryMs?: number;
}

export function createReplicationProbe(options: {
  readonly source: PgClient;
  readonly target: MysqlConnection;
  readonly slot: string;
  readonly logger: Logger;
}): ReplicationProbe {
  const { source, target, slot, logger } = options;
  const pgRows = (statement: PgStatement) => querySource(source, statement);
  let wakeFailed = false;
  return {
    async readPosition() {
      const rows = await pgRows(selectReadPosition());
      const text = rows[0]?.[0];
      return typeof text === 'string' ? parseLsn(text) : 0n;
    },
    async replicatorActive() {
      const rows = await pgRows(selectSlotActivity(slot));
      const active = rows[0]?.[0];
      return active === true || active === 't';
    },
    async appliedPosition() {
      let applied = 0n;
      const slotRows = await pgRows(selectSlotActivity(slot));
      const confirmed = slotRows[0]?.[1];
      if (typeof confirmed === 'string') applied = parseLsn(confirmed);
      try {
        const rows = await queryRows(target, readCheckpoint(slot));
        const lsn = rows[0]?.[0];
        if (lsn !== undefined && lsn !== null && BigInt(String(lsn)) > applied) {
          applied = BigInt(String(lsn));
        }
      } catch (error) {
        // Without control tables (migrate not run) the slot's position alone must do.
        logger.debug({ err: error }, 'no checkpoint table to read');
      }
      return applied;
    },
    async wake() {
      if (wakeFailed) return;
      try {
        await pgRows(emitWakeMessage());
      } catch (error) {
        // Not fatal: the replicator's heartbeat moves the slot too, only later.
        wakeFailed = true;
        logger.debug({ err: error }, 'could not emit a logical message to wake the replicator');
      }
    },
  };
}

export type SettleResult = 'reached' | 'timeout' | 'inactive';

/**
 * Waits until the target has applied everything up to `position`, the replicator detaches, or
 * `deadline` (ms since the epoch) passes. Polls every `pollMs`.
 */
export async function waitForPosition(
  probe: ReplicationProbe,
  position: Lsn,
  deadline: number,
  logger: Logger,
  pollMs = 100,
): Promise<SettleResult> {
  await probe.wake();
  let woken = Date.now();
  for (let polls = 0; ; polls++) {
    if (probe.wakeEveryMs !== undefined && Date.now() - woken >= probe.wakeEveryMs) {
      await probe.wake();
      woken = Date.now();
    }
    const applied = await probe.appliedPosition();
    if (applied >= position) return 'reached';
    if (Date.now() >= deadline) {
      logger.info(
        { position: formatLsn(position), applied: formatLsn(applied) },
        'the replicator did not reach the audit read position within --settle-timeout',
      );
      return 'timeout';
    }
    if (polls % 10 === 9 && !(await probe.replicatorActive())) return 'inactive';
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}
