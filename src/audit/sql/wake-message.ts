import type { PgStatement } from './pg-statement.js';

/**
 * An empty transactional logical message: the replicator receives a transaction that commits
 * after the audit's read, checkpoints it within its batch delay and acknowledges it, so the
 * position the audit waits for is reached even when the mapped tables are idle. The prefix does
 * not start with `millrace`, so the stream's watermark handling ignores its content.
 */
export function emitWakeMessage(): PgStatement {
  return { text: `SELECT pg_logical_emit_message(true, 'audit.millrace', '')`, values: [] };
}
