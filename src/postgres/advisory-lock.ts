import type { PgClient } from './pg-client.js';
import { pgBool, rowsOf } from './sql-client.js';

/**
 * Session advisory locks on the CRM, named by a label that is hashed into the lock's 64-bit key:
 * the server frees them the moment their session ends (a crash, a cut connection), so a killed
 * process never leaves one behind. Each caller prefixes its labels ('millrace to-crm …') to stay
 * apart from other users' locks.
 */

const lockKey = 'hashtextextended($1, 0)';

/** Takes the label's lock for this session if no other session holds it; never waits. */
export async function tryAdvisoryLock(client: PgClient, label: string): Promise<boolean> {
  const [row] = await rowsOf<{ held: unknown }>(
    client,
    `SELECT pg_try_advisory_lock(${lockKey}) AS held`,
    [label],
  );
  // The CRM client reads every value as text: 'f' is a string, and truthy.
  return pgBool(row?.held);
}

export async function releaseAdvisoryLock(client: PgClient, label: string): Promise<void> {
  await client.query(`SELECT pg_advisory_unlock(${lockKey})`, [label]);
}

/** The backend pid of the session of this database that holds the label's lock, if one does. */
export async function advisoryLockHolder(
  client: PgClient,
  label: string,
): Promise<string | undefined> {
  const [row] = await rowsOf<{ pid: unknown }>(
    client,
    `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1
        AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND ((classid::bigint << 32) | objid::bigint) = ${lockKey}`,
    [label],
  );
  return row === undefined ? undefined : String(row.pid);
}
