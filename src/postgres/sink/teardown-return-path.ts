import { isMillraceError, RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { wrapPrivilegeError } from '../setup/privilege-error.js';
import { pgBool, rowsOf, sqlState } from '../sql-client.js';
import { type CrmCheckpoint, loadCrmCheckpoint } from './crm-checkpoint-store.js';
import { deleteCheckpoint } from './sql/checkpoint.js';
import {
  backfillOriginName,
  dropOrigin,
  findOrigin,
  originName,
} from './sql/replication-origin.js';
import { releaseStreamLock, takeStreamLock } from './stream-lock.js';

/**
 * What `teardown` removes of the return path on the CRM: the replication origins of the stream
 * and of its backfills (cluster-wide, they outlive the database) and the stream's checkpoint
 * row. Each exists only once its writer has written.
 */
export interface ReturnPathPlan {
  /** The names of the origins that exist. */
  readonly origins: readonly string[];
  /** The stream's checkpoint, when it has one. */
  readonly checkpoint: CrmCheckpoint | undefined;
}

/** What `teardown` would remove of the return path, read without changing anything. */
export async function planReturnTeardown(
  client: PgClient,
  stream: string,
): Promise<ReturnPathPlan> {
  const origins: string[] = [];
  for (const name of [originName(stream), backfillOriginName(stream)]) {
    const find = findOrigin(name);
    const found = await rowsOf<{ exists: unknown }>(client, find.text, find.values);
    if (pgBool(found[0]?.exists)) origins.push(name);
  }
  const checkpoint = await loadCrmCheckpoint(client, stream).catch((error: unknown) => {
    // No control tables on the CRM: the return path never ran here.
    if (isMillraceError(error) && error.code === 'CONTROL_TABLES_MISSING') return undefined;
    throw error;
  });
  return {
    origins,
    checkpoint: checkpoint && checkpoint.lsn !== 0n ? checkpoint : undefined,
  };
}

/**
 * Holds the stream's lock while it works, so a return stream can neither run meanwhile nor be
 * running (REPLICATOR_RUNNING, exit 3); `work` runs under it and the lock is given back after.
 */
export async function withReturnPathFenced<T>(
  client: PgClient,
  stream: string,
  work: () => Promise<T>,
): Promise<T> {
  await takeStreamLock(client, stream, {
    wait: false,
    signal: new AbortController().signal,
    onWaiting: () => undefined,
  });
  try {
    return await work();
  } finally {
    await releaseStreamLock(client, stream);
  }
}

/** Drops the origins and the checkpoint row of `plan`; run fenced (withReturnPathFenced). */
export async function teardownReturnPath(
  client: PgClient,
  stream: string,
  plan: ReturnPathPlan,
): Promise<{ readonly originsDropped: readonly string[]; readonly checkpointRemoved: boolean }> {
  const originsDropped: string[] = [];
  for (const origin of plan.origins) {
    if (await dropOriginOf(client, stream, origin)) originsDropped.push(origin);
  }
  let checkpointRemoved = false;
  if (plan.checkpoint !== undefined) {
    const statement = deleteCheckpoint(stream);
    const result = await client.query(statement.text, statement.values);
    checkpointRemoved = (result.rowCount ?? 0) > 0;
  }
  return { originsDropped, checkpointRemoved };
}

/** Drops one origin; false when it was dropped meanwhile. */
async function dropOriginOf(client: PgClient, stream: string, origin: string): Promise<boolean> {
  const statement = dropOrigin(origin);
  try {
    await client.query(statement.text, statement.values);
    return true;
  } catch (error) {
    if (sqlState(error) === '42704') return false;
    if (sqlState(error) === '55006') {
      throw new RuntimeFailure(
        'REPLICATOR_RUNNING',
        `replication origin ${origin} is in use by another session (a millrace run or backfill writing the to-crm stream ${stream}?): stop it first, then run teardown again`,
        { context: { origin }, cause: error },
      );
    }
    throw wrapPrivilegeError(error, `cannot drop replication origin ${origin}`);
  }
}
