import { RuntimeFailure } from '../../errors/millrace-error.js';
import { advisoryLockHolder, tryAdvisoryLock } from '../../postgres/advisory-lock.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { rowsOf } from '../../postgres/sql-client.js';

/**
 * The label of a to-crm mapping's backfill lock. Per mapping, as its millrace.backfill_progress
 * row is: two backfills of one mapping would race on that row and on the rows, while backfills
 * of other mappings run beside it. The space keeps it apart from stream locks ('millrace to-crm
 * <stream>'), since a stream (slot) name has none.
 */
function backfillLabel(mapping: string): string {
  return `millrace to-crm backfill ${mapping}`;
}

/**
 * Takes each mapping's backfill lock on the session that writes its chunks, for as long as that
 * session lives: a backfill that dies frees them with its connection, and a lost session cannot
 * write on. Fails with exit 3 when another backfill holds one; the locks taken before stay with
 * the session, which the caller ends.
 */
export async function lockCrmBackfills(crm: PgClient, mappings: readonly string[]): Promise<void> {
  for (const mapping of mappings) {
    if (await tryAdvisoryLock(crm, backfillLabel(mapping))) continue;
    const holder = await advisoryLockHolder(crm, backfillLabel(mapping));
    const [where] = await rowsOf<{ database: string }>(
      crm,
      'SELECT current_database() AS database',
    );
    throw new RuntimeFailure(
      'BACKFILL_RUNNING',
      `another millrace backfill is already copying the to-crm mapping '${mapping}' into ${where?.database ?? 'the CRM'} (PostgreSQL backend ${holder ?? '?'}); wait for it to finish or stop it, then run this again (it resumes)`,
      { context: { mapping } },
    );
  }
}
