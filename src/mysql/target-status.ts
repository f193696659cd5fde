import { type CheckpointStatus, readCheckpointStatus } from './checkpoint-store.js';
import { type MysqlConnection, quoteMysqlIdent } from './mysql-client.js';

/**
 * The MES half of `status`: control tables, the checkpoint, target row counts and dead letters.
 * Plain reads, tolerant of what is missing (no control tables, no target table): `status` is what
 * people run when something is wrong, so it reports instead of failing.
 */

export interface TargetStatus {
  readonly controlTables: boolean;
  readonly missingControlTables: readonly string[];
  /** Null when the slot has no checkpoint yet, or there are no control tables. */
  readonly checkpoint: CheckpointStatus | null;
  /** Target table → row count; absent when the table does not exist. */
  readonly rowCounts: ReadonlyMap<string, number>;
  /** Mapping name → dead letters; empty without control tables. */
  readonly deadLetters: ReadonlyMap<string, number>;
}

const controlTableNames = ['millrace_checkpoints', 'millrace_dead_letters'] as const;

/** Everything `status` shows about the MES side, for the slot and the mappings' target tables. */
export async function readTargetStatus(
  connection: MysqlConnection,
  slot: string,
  targets: readonly string[],
): Promise<TargetStatus> {
  const present = await readPresentTables(connection, [...controlTableNames, ...targets]);
  const missingControlTables = controlTableNames.filter((name) => !present.has(name));
  const rowCounts = new Map<string, number>();
  for (const target of targets) {
    if (present.has(target.toLowerCase()))
      rowCounts.set(target, await countRows(connection, target));
  }
  const checkpoint = present.has('millrace_checkpoints')
    ? await readCheckpointStatus(connection, slot)
    : undefined;
  return {
    controlTables: missingControlTables.length === 0,
    missingControlTables,
    checkpoint: checkpoint ?? null,
    rowCounts,
    deadLetters: present.has('millrace_dead_letters')
      ? await countDeadLetters(connection)
      : new Map(),
  };
}

async function queryRows<T>(
  connection: MysqlConnection,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const [rows] = await connection.query(sql, values);
  return rows as T[];
}

/**
 * Which of `tables` exist in the MES database, lower-cased: table names compare
 * case-insensitively on some servers (lower_case_table_names).
 */
async function readPresentTables(
  connection: MysqlConnection,
  tables: readonly string[],
): Promise<ReadonlySet<string>> {
  const rows = await queryRows<{ name: string }>(
    connection,
    'SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name IN (?)',
    [tables],
  );
  return new Set(rows.map((row) => row.name.toLowerCase()));
}

/** The number of rows in a table. */
async function countRows(connection: MysqlConnection, table: string): Promise<number> {
  const [row] = await queryRows<{ n: string | number }>(
    connection,
    `SELECT COUNT(*) AS n FROM ${quoteMysqlIdent(table)}`,
  );
  return Number(row?.n ?? 0);
}

/** Mapping name → rows in millrace_dead_letters, for every mapping that has any. */
async function countDeadLetters(connection: MysqlConnection): Promise<ReadonlyMap<string, number>> {
  const rows = await queryRows<{ name: string; n: string | number }>(
    connection,
    'SELECT mapping_name AS name, COUNT(*) AS n FROM millrace_dead_letters GROUP BY mapping_name',
  );
  return new Map(rows.map((row) => [row.name, Number(row.n)]));
}
