import { RuntimeFailure } from '../../errors/millrace-error.js';
import type { PgClient } from '../pg-client.js';
import { rowsOf } from '../sql-client.js';

/** Fails (exit 3) unless the server writes logical WAL: without it no slot can decode anything. */
export async function checkWalLevel(client: PgClient): Promise<void> {
  const [row] = await rowsOf<{ wal_level: string }>(
    client,
    "SELECT current_setting('wal_level') AS wal_level",
  );
  const level = row?.wal_level;
  if (level === 'logical') return;
  throw new RuntimeFailure(
    'WAL_LEVEL',
    `the CRM PostgreSQL runs with wal_level = ${level ?? 'unknown'}, logical replication needs logical: ` +
      'run ALTER SYSTEM SET wal_level = logical as a superuser, then restart PostgreSQL',
    { context: { walLevel: level } },
  );
}
