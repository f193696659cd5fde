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
