import type { PgStatement } from './statement.js';

/**
 * The replication origin that tags every transaction the CRM sink commits, so the forward stream
 * (pgoutput sends the origin's name with such a transaction) can drop what millrace itself wrote.
 */
export function originName(stream: string): string {
  return `millrace_${stream}`;
}

/**
 * The origin a to-crm backfill's, repair's or retry's writes carry: not the stream's own, which
 * its writer holds while `run` runs (an origin is held by one session at a time).
 */
export function backfillOriginName(stream: string): string {
  return `${originName(stream)}_backfill`;
}

/** Creates the origin unless it exists (origins are cluster-wide and outlive sessions). */
export function createOrigin(name: string): PgStatement {
  return {
    text: 'SELECT pg_replication_origin_create($1) WHERE pg_replication_origin_oid($1) IS NULL',
    values: [name],
  };
}

/** Tags this session's commits with the origin; only one session may hold an origin at a time. */
export function setupOriginSession(name: string): PgStatement {
  return { text: 'SELECT pg_replication_origin_session_setup($1)', values: [name] };
}

export const resetOriginSession: PgStatement = {
  text: 'SELECT pg_replication_origin_session_reset()',
  values: [],
};

/** Whether the origin exists (`exists`: boolean). */
export function findOrigin(name: string): PgStatement {
  return { text: 'SELECT pg_replication_origin_oid($1) IS NOT NULL AS exists', values: [name] };
}

/** Drops the origin; fails (object_in_use) while a session has it set up. */
export function dropOrigin(name: string): PgStatement {
  return { text: 'SELECT pg_replication_origin_drop($1)', values: [name] };
}
