import type { PgStatement } from './pg-statement.js';

/**
 * The CRM's WAL insert position: every transaction a read has seen committed with a commit
 * record ending at or below it. The insert position rather than pg_current_wal_lsn() (the write
 * position), which can lag behind a commit made with synchronous_commit off. A standby has
 * neither: its replay position plays that role there.
 */
export function selectReadPosition(): PgStatement {
  return {
    text: `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text AS lsn`,
    values: [],
  };
}
