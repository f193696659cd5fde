import type { BenchDatabases } from './bench-env.js';

/** Dirty pages left in InnoDB's buffer pool that count as settled (of its total). */
const settledShare = 0.01;
const settleTimeoutMs = 90_000;

/**
 * Lets both servers finish writing what the scenario's set-up left dirty before a measured run:
 * a 1M-row load leaves most of InnoDB's 128 MB buffer pool dirty, and its page cleaner flushes
 * at `innodb_io_capacity` (a few hundred pages a second), so a read of the next minute has to
 * flush pages to find free ones: the same audit ran a third slower right after a load. PostgreSQL
 * checkpoints; InnoDB flushes with no dirty-page allowance until under 1 % of its pool is dirty
 * (or 90 s pass), then gets its setting back. Returns the seconds waited.
 */
export async function settleServers(dbs: BenchDatabases): Promise<number> {
  const started = performance.now();
  // Both need privileges a bench user elsewhere may lack: then the runs go unsettled.
  await dbs.pg.query('checkpoint').catch(() => undefined);
  const [setting] = await dbs.mysql.query('select @@global.innodb_max_dirty_pages_pct as pct');
  const allowance = (setting as { pct: number }[])[0]!.pct;
  const flushing = await dbs.mysql.query('set global innodb_max_dirty_pages_pct = 0').then(
    () => true,
    () => false,
  );
  if (!flushing) return 0;
  try {
    while (
      performance.now() - started < settleTimeoutMs &&
      (await dirtyShare(dbs)) > settledShare
    ) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    await dbs.mysql.query('set global innodb_max_dirty_pages_pct = ?', [allowance]);
  }
  return Math.round((performance.now() - started) / 100) / 10;
}

async function dirtyShare(dbs: BenchDatabases): Promise<number> {
  const [rows] = await dbs.mysql.query(
    "show global status where variable_name in ('Innodb_buffer_pool_pages_dirty', 'Innodb_buffer_pool_pages_total')",
  );
  const status = new Map(
    (rows as { Variable_name: string; Value: string }[]).map((row) => [
      row.Variable_name.toLowerCase(),
      Number(row.Value),
    ]),
  );
  return (
    (status.get('innodb_buffer_pool_pages_dirty') ?? 0) /
    (status.get('innodb_buffer_pool_pages_total') ?? 1)
  );
}
