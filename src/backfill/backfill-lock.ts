import { RuntimeFailure } from '../errors/millrace-error.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { lockName } from '../mysql/replicator-lock.js';

/** GET_LOCK names are limited to 64 characters. */
function backfillLockName(database: string, slot: string): string {
  return `millrace-backfill:${database}:${slot}`.slice(0, 64);
}

/**
 * Who writes the backfill. `offline`: no replicator runs on the slot, and this session now holds
 * the replicator's lock (so `run` cannot start and write beside it) plus the backfill lock (so a
 * second `backfill` knows it is not a replicator). `online`: a replicator holds the lock; the
 * backfill must go through it, in-stream.
 */
type BackfillRole = 'offline' | 'online';

async function lockFlags(
  connection: MysqlConnection,
  sql: string,
  values: unknown[],
): Promise<Record<string, unknown>> {
  const [rows] = await connection.query(sql, values);
  return (rows as Record<string, unknown>[])[0] ?? {};
}

/**
 * Decides offline or online on a dedicated session whose locks last as long as it does (a killed
 * backfill releases them with its connection). Fails with exit 3 when another offline backfill
 * of the same slot runs.
 */
export async function claimBackfillRole(
  connection: MysqlConnection,
  database: string,
  slot: string,
): Promise<BackfillRole> {
  const backfill = backfillLockName(database, slot);
  const replicator = lockName(database, slot);
  const own = await lockFlags(
    connection,
    'SELECT GET_LOCK(?, 0) AS acquired, IS_USED_LOCK(?) AS holder',
    [backfill, backfill],
  );
  if (Number(own.acquired) !== 1) {
    throw new RuntimeFailure(
      'BACKFILL_RUNNING',
      `another millrace backfill is already copying for slot '${slot}' into ${database} (MySQL connection ${String(own.holder ?? '?')}); wait for it to finish or stop it, then run this again (it resumes)`,
      { context: { slot, database } },
    );
  }
  const run = await lockFlags(connection, 'SELECT GET_LOCK(?, 0) AS acquired', [replicator]);
  if (Number(run.acquired) === 1) return 'offline';
  // A replicator is running: release the backfill lock, which only offline backfills hold.
  await connection.query('SELECT RELEASE_LOCK(?)', [backfill]);
  return 'online';
}

/** Whether a replicator (or an offline backfill) holds the slot's replicator lock. */
export async function replicatorActive(
  connection: MysqlConnection,
  database: string,
  slot: string,
): Promise<boolean> {
  const flags = await lockFlags(connection, 'SELECT IS_USED_LOCK(?) AS holder', [
    lockName(database, slot),
  ]);
  return flags.holder !== null && flags.holder !== undefined;
}
