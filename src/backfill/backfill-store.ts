import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { Statement } from '../mysql/sql/quote.js';
import type { TargetValue } from '../values/column-types.js';
import {
  decodeSourceKey,
  decodeTargetKey,
  encodeSourceKey,
  encodeTargetKey,
} from '../values/key-text.js';

/**
 * `requested`: waiting for the replicator to perform it in-stream; `running`: being copied
 * (offline by `millrace backfill`, or online by the replicator); `done`; `failed` (see `error`).
 */
type BackfillStatus = 'requested' | 'running' | 'done' | 'failed';
type BackfillMode = 'offline' | 'online';
/** `copy`: source rows in key order; `prune`: target rows the source no longer has. */
export type BackfillPhase = 'copy' | 'prune';

/** One row of millrace_backfills: the progress of one mapping's latest backfill run. */
export interface BackfillState {
  readonly mapping: string;
  readonly status: BackfillStatus;
  readonly runId: string | null;
  readonly mode: BackfillMode | null;
  readonly phase: BackfillPhase;
  /** Source key (text forms) of the last row of the last committed chunk; null before the first. */
  readonly lastKey: readonly string[] | null;
  /** Whether stale target rows are looked for once the copy is done. */
  readonly prune: boolean;
  /** Target key of the last row checked by the prune phase. */
  readonly pruneKey: readonly TargetValue[] | null;
  readonly rowsRead: number;
  readonly rowsCopied: number;
  readonly rowsRemoved: number;
  readonly deadLetters: number;
  /** The planner's estimate of the source table's rows (pg_class.reltuples), for ETAs. */
  readonly rowsTotal: number | null;
  readonly chunkSize: number | null;
  /** The source WAL position when the run started, for people. */
  readonly snapshotLsn: string | null;
  readonly error: string | null;
  readonly startedAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
}

/** The counters a committed chunk moves, as absolute values (a replayed write is harmless). */
export interface BackfillCounters {
  readonly rowsRead: number;
  readonly rowsCopied: number;
  readonly rowsRemoved: number;
  readonly deadLetters: number;
}

/** The counters of the last committed chunk, where a resumed run goes on from. */
export function countersOf(state: BackfillState): BackfillCounters {
  return {
    rowsRead: state.rowsRead,
    rowsCopied: state.rowsCopied,
    rowsRemoved: state.rowsRemoved,
    deadLetters: state.deadLetters,
  };
}

interface BackfillRow {
  mapping_name: string;
  status: string;
  run_id: string | null;
  mode: string | null;
  phase: string;
  last_key: string | null;
  prune: number | string;
  prune_key: string | null;
  rows_read: string | number;
  rows_copied: string | number;
  rows_removed: string | number;
  dead_letters: string | number;
  rows_total: string | number | null;
  chunk_size: string | number | null;
  snapshot_lsn: string | null;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

const columns =
  'mapping_name, status, run_id, mode, phase, last_key, prune, prune_key, rows_read, rows_copied, ' +
  'rows_removed, dead_letters, rows_total, chunk_size, snapshot_lsn, error, started_at, updated_at, finished_at';

function toState(row: BackfillRow): BackfillState {
  return Object.freeze({
    mapping: row.mapping_name,
    status: row.status as BackfillStatus,
    runId: row.run_id,
    mode: row.mode as BackfillMode | null,
    phase: row.phase === 'prune' ? 'prune' : 'copy',
    lastKey: row.last_key === null ? null : decodeSourceKey(row.last_key),
    prune: Number(row.prune) === 1,
    pruneKey: row.prune_key === null ? null : decodeTargetKey(row.prune_key),
    rowsRead: Number(row.rows_read),
    rowsCopied: Number(row.rows_copied),
    rowsRemoved: Number(row.rows_removed),
    deadLetters: Number(row.dead_letters),
    rowsTotal: row.rows_total === null ? null : Number(row.rows_total),
    chunkSize: row.chunk_size === null ? null : Number(row.chunk_size),
    snapshotLsn: row.snapshot_lsn,
    error: row.error,
    startedAt: row.started_at,
    updatedAt: row.updated_at,
    finishedAt: row.finished_at,
  });
}

/** The backfill rows of these mappings, by mapping name (absent: never backfilled). */
export async function readBackfills(
  connection: MysqlConnection,
  mappings: readonly string[],
): Promise<ReadonlyMap<string, BackfillState>> {
  const states = new Map<string, BackfillState>();
  if (mappings.length === 0) return states;
  const [rows] = await connection.query(
    `SELECT ${columns} FROM millrace_backfills WHERE mapping_name IN (?)`,
    [mappings],
  );
  for (const row of rows as BackfillRow[]) states.set(row.mapping_name, toState(row));
  return states;
}

/** Backfills waiting for a replicator, or being performed in-stream (to resume after a restart). */
export async function readOnlineWork(
  connection: MysqlConnection,
  mappings: readonly string[],
): Promise<readonly BackfillState[]> {
  if (mappings.length === 0) return [];
  const [rows] = await connection.query(
    `SELECT ${columns} FROM millrace_backfills
      WHERE mapping_name IN (?) AND (status = 'requested' OR (status = 'running' AND mode = 'online'))
      ORDER BY started_at, mapping_name`,
    [mappings],
  );
  return (rows as BackfillRow[]).map(toState);
}

/** Whether a run must start over rather than resume the recorded one. */
export function startsOver(state: BackfillState | undefined, restart: boolean): boolean {
  return restart || state === undefined || state.status === 'done' || state.runId === null;
}

export interface NewRun {
  readonly mapping: string;
  readonly runId: string;
  readonly status: 'requested' | 'running';
  readonly mode: BackfillMode | null;
  readonly chunkSize: number;
  readonly rowsTotal: number | null;
  readonly prune: boolean;
  readonly snapshotLsn: string | null;
}

/** Replaces the mapping's row with a fresh run (a first backfill, a re-backfill, a --restart). */
export function newRunStatement(run: NewRun): Statement {
  return {
    sql: `INSERT INTO millrace_backfills
            (mapping_name, status, run_id, mode, phase, last_key, prune, prune_key, rows_read,
             rows_copied, rows_removed, dead_letters, rows_total, chunk_size, snapshot_lsn, error,
             started_at, updated_at, finished_at)
          VALUES (?, ?, ?, ?, 'copy', NULL, ?, NULL, 0, 0, 0, 0, ?, ?, ?, NULL,
                  UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), NULL)
          ON DUPLICATE KEY UPDATE status = VALUES(status), run_id = VALUES(run_id),
            mode = VALUES(mode), phase = 'copy', last_key = NULL, prune = VALUES(prune),
            prune_key = NULL, rows_read = 0, rows_copied = 0, rows_removed = 0, dead_letters = 0,
            rows_total = VALUES(rows_total), chunk_size = VALUES(chunk_size),
            snapshot_lsn = VALUES(snapshot_lsn), error = NULL, started_at = UTC_TIMESTAMP(6),
            updated_at = UTC_TIMESTAMP(6), finished_at = NULL`,
    values: [
      run.mapping,
      run.status,
      run.runId,
      run.mode,
      run.prune ? 1 : 0,
      run.rowsTotal,
      run.chunkSize,
      run.snapshotLsn,
    ],
  };
}

/** Resumes an interrupted run under a new status and mode, keeping its progress. */
export function resumeRunStatement(
  state: BackfillState,
  status: 'requested' | 'running',
  mode: BackfillMode | null,
  chunkSize: number,
): Statement {
  return {
    sql: `UPDATE millrace_backfills SET status = ?, mode = ?, chunk_size = ?, error = NULL,
            updated_at = UTC_TIMESTAMP(6)
          WHERE mapping_name = ? AND run_id = ?`,
    values: [status, mode, chunkSize, state.mapping, state.runId],
  };
}

/** The replicator takes a requested backfill; affects no row when someone else did. */
export function claimStatement(
  state: BackfillState,
  rowsTotal: number | null,
  snapshotLsn: string | null,
): Statement {
  return {
    sql: `UPDATE millrace_backfills SET status = 'running', mode = 'online',
            rows_total = COALESCE(rows_total, ?), snapshot_lsn = COALESCE(snapshot_lsn, ?),
            updated_at = UTC_TIMESTAMP(6)
          WHERE mapping_name = ? AND run_id = ? AND status = 'requested'`,
    values: [rowsTotal, snapshotLsn, state.mapping, state.runId],
  };
}

export interface ProgressUpdate {
  readonly mapping: string;
  readonly runId: string;
  readonly phase: BackfillPhase;
  readonly lastKey: readonly string[] | null;
  readonly pruneKey: readonly TargetValue[] | null;
  readonly counters: BackfillCounters;
  /** The refined estimate of rows to read, when the copy outgrew the planner's. */
  readonly rowsTotal?: number | null;
}

/**
 * The progress of one committed chunk, for this run only: a run that was restarted or replaced
 * meanwhile is left alone (the statement then affects no row).
 */
export function progressStatement(update: ProgressUpdate): Statement {
  return {
    sql: `UPDATE millrace_backfills SET phase = ?, last_key = ?, prune_key = ?, rows_read = ?,
            rows_copied = ?, rows_removed = ?, dead_letters = ?,
            rows_total = COALESCE(?, rows_total), updated_at = UTC_TIMESTAMP(6)
          WHERE mapping_name = ? AND run_id = ? AND status = 'running'`,
    values: [
      update.phase,
      update.lastKey === null ? null : encodeSourceKey(update.lastKey),
      update.pruneKey === null ? null : encodeTargetKey(update.pruneKey),
      update.counters.rowsRead,
      update.counters.rowsCopied,
      update.counters.rowsRemoved,
      update.counters.deadLetters,
      update.rowsTotal ?? null,
      update.mapping,
      update.runId,
    ],
  };
}

export function finishStatement(mapping: string, runId: string): Statement {
  return {
    sql: `UPDATE millrace_backfills SET status = 'done', finished_at = UTC_TIMESTAMP(6),
            updated_at = UTC_TIMESTAMP(6)
          WHERE mapping_name = ? AND run_id = ? AND status = 'running'`,
    values: [mapping, runId],
  };
}

export function failStatement(mapping: string, runId: string, error: string): Statement {
  return {
    sql: `UPDATE millrace_backfills SET status = 'failed', error = ?, updated_at = UTC_TIMESTAMP(6)
          WHERE mapping_name = ? AND run_id = ?`,
    values: [error.slice(0, 60_000), mapping, runId],
  };
}

/** Runs one statement outside any writer transaction; returns the rows it affected. */
export async function execute(connection: MysqlConnection, statement: Statement): Promise<number> {
  const [result] = await connection.query(statement.sql, [...statement.values]);
  return Number((result as { affectedRows?: unknown }).affectedRows ?? 0);
}
