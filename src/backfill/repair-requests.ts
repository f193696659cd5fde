import { isNoSuchTable } from '../errors/classify-error.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { Statement } from '../mysql/sql/quote.js';
import type { TargetValue } from '../values/column-types.js';
import { decodeTargetKey, encodeTargetKey } from '../values/key-text.js';

/**
 * millrace_repairs: `audit --repair` asks a running replicator to repair a set of target keys of
 * one mapping in-stream (between watermarks, like an online backfill chunk), so a repair never
 * lands out of order with the changes the replicator streams.
 */
export interface RepairRequest {
  readonly id: string;
  readonly mapping: string;
  readonly keys: readonly (readonly TargetValue[])[];
}

/** What the replicator did for one request. */
export interface RepairResult {
  readonly status: 'requested' | 'done' | 'failed';
  readonly copied: number;
  readonly removed: number;
  readonly deadLetters: number;
  readonly error: string | null;
}

export function insertRepairStatement(
  mapping: string,
  keys: readonly (readonly TargetValue[])[],
): Statement {
  return {
    sql: `INSERT INTO millrace_repairs (mapping_name, status, target_keys, created_at, updated_at)
          VALUES (?, 'requested', ?, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))`,
    values: [mapping, keys.map((key) => encodeTargetKey(key)).join('\n')],
  };
}

/** The waiting requests of these mappings, oldest first. */
export async function readRepairWork(
  connection: MysqlConnection,
  mappings: readonly string[],
): Promise<readonly RepairRequest[]> {
  if (mappings.length === 0) return [];
  let rows: unknown;
  try {
    [rows] = await connection.query(
      `SELECT CAST(id AS CHAR) AS id, mapping_name, target_keys FROM millrace_repairs
        WHERE status = 'requested' AND mapping_name IN (?) ORDER BY id`,
      [mappings],
    );
  } catch (error) {
    // A MES not migrated since repairs went in-stream: nobody can have asked for one.
    if (isNoSuchTable(error)) return [];
    throw error;
  }
  return (rows as { id: string; mapping_name: string; target_keys: string }[]).map((row) => ({
    id: row.id,
    mapping: row.mapping_name,
    keys: row.target_keys
      .split('\n')
      .filter((line) => line !== '')
      .map(decodeTargetKey),
  }));
}

export async function readRepairResult(
  connection: MysqlConnection,
  id: string,
): Promise<RepairResult | undefined> {
  const [rows] = await connection.query(
    `SELECT status, rows_copied, rows_removed, dead_letters, error FROM millrace_repairs WHERE id = ?`,
    [id],
  );
  const row = (rows as Record<string, unknown>[])[0];
  if (row === undefined) return undefined;
  return {
    status: row.status as RepairResult['status'],
    copied: Number(row.rows_copied),
    removed: Number(row.rows_removed),
    deadLetters: Number(row.dead_letters),
    error: row.error === null ? null : String(row.error),
  };
}

/** Marks a request performed, or failed when `error` is given; only a waiting one. */
export function settleRepairStatement(
  id: string,
  outcome: Pick<RepairResult, 'copied' | 'removed' | 'deadLetters'> | { readonly error: string },
): Statement {
  const failed = 'error' in outcome;
  return {
    sql: `UPDATE millrace_repairs SET status = ?, rows_copied = ?, rows_removed = ?,
            dead_letters = ?, error = ?, updated_at = UTC_TIMESTAMP(6)
          WHERE id = ? AND status = 'requested'`,
    values: failed
      ? ['failed', 0, 0, 0, outcome.error.slice(0, 60_000), id]
      : ['done', outcome.copied, outcome.removed, outcome.deadLetters, null, id],
  };
}
