import type { Readable } from 'node:stream';
import { isRowDataError } from '../../errors/classify-error.js';
import type { TargetValue } from '../../values/column-types.js';
import { introspectTarget } from '../introspect.js';
import type { MysqlConnection } from '../mysql-client.js';
import {
  loadDataSql,
  mergeStagedSql,
  rowsAboveSql,
  stagingTableSql,
} from './load-data-statements.js';
import { type FieldForm, fieldFormOf } from './load-data-text.js';

/** How rows of one mapping are loaded into its table. */
export interface LoadPlan {
  readonly table: string;
  /** The columns of each line, in order (the mapping's target columns). */
  readonly columns: readonly string[];
  readonly keyColumns: readonly string[];
  readonly forms: readonly FieldForm[];
}

/** Reads the table's column types: which columns travel as hex or as BIT numbers. */
export async function planLoad(
  connection: MysqlConnection,
  table: string,
  columns: readonly string[],
  keyColumns: readonly string[],
): Promise<LoadPlan> {
  const described = (await introspectTarget(connection, [table])).get(table);
  const column = (name: string) => described?.columns.get(name);
  return Object.freeze({
    table,
    columns,
    keyColumns,
    forms: Object.freeze(columns.map((name) => fieldFormOf(column(name)))),
  });
}

/** Whether the server lets a client send a LOAD DATA LOCAL file (a global setting). */
export async function localInfileEnabled(connection: MysqlConnection): Promise<boolean> {
  const [rows] = await connection.query('SELECT @@local_infile AS enabled');
  return Number((rows as { enabled: number | string }[])[0]?.enabled ?? 0) === 1;
}

/** Whether the table holds any row with a key above `after` (any row at all when null). */
export async function holdsRowsAbove(
  connection: MysqlConnection,
  plan: LoadPlan,
  after: readonly TargetValue[] | null,
): Promise<boolean> {
  const [rows] = await connection.query(
    rowsAboveSql(plan.table, plan.keyColumns, after !== null),
    after === null ? [] : [...after],
  );
  return (rows as unknown[]).length > 0;
}

export type LoadOutcome =
  | { readonly loaded: true; readonly rows: number }
  /** Nothing of the load remains: the transaction is back where it was before it. */
  | { readonly loaded: false; readonly reason: string };

/** The session's staging table of a load (one at a time: recreated for each). */
const stagingTable = 'millrace_load';

interface LoadResult {
  readonly affectedRows: number;
  readonly warningStatus: number;
}

/**
 * Loads the file `input` yields into the plan's table, in the open transaction: straight in
 * (`direct`, for a key range the table does not hold yet), or into a session TEMPORARY table and
 * from there with one `INSERT … SELECT … ON DUPLICATE KEY UPDATE`. `opening` (what opens the
 * transaction, if anything) goes in front, in the same round trip where the session takes several
 * statements per packet. A LOCAL load turns every row error into a warning and goes on (the
 * server cannot stop the client's file), so any warning means some row did not land exactly: the
 * load is rolled back to its savepoint and reported as not loaded, for the caller to write those
 * rows another way.
 */
export async function loadRows(
  connection: MysqlConnection,
  plan: LoadPlan,
  input: Readable,
  options: { readonly direct: boolean; readonly opening: readonly string[] },
): Promise<LoadOutcome> {
  const { direct } = options;
  const before = [
    ...options.opening,
    ...(direct ? [] : stagingTableSql(stagingTable, plan.table)),
    'SAVEPOINT millrace_load',
  ];
  try {
    const load = loadDataSql(direct ? plan.table : stagingTable, plan.columns, plan.forms);
    const loaded = await queryThenLoad(connection, before, load, input);
    if (loaded.warningStatus > 0) return await undo(connection, loaded.warningStatus);
    if (!direct) {
      const merge = mergeStagedSql(plan.table, stagingTable, plan.columns, plan.keyColumns);
      const [merged] = (await connection.query(merge)) as [LoadResult, unknown];
      if (merged.warningStatus > 0) return await undo(connection, merged.warningStatus);
    }
    return { loaded: true, rows: loaded.affectedRows };
  } catch (error) {
    if (!isRowDataError(error)) throw error;
    await connection.query('ROLLBACK TO SAVEPOINT millrace_load');
    return { loaded: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Runs `statements`, then the LOAD DATA reading `input`: in one packet on a session that takes
 * several statements per packet (each statement's result carries its own warning count, so the
 * last one is the load's alone), otherwise one by one.
 */
async function queryThenLoad(
  connection: MysqlConnection,
  statements: readonly string[],
  load: string,
  input: Readable,
): Promise<LoadResult> {
  const together = connection.queryAll !== undefined;
  if (!together) for (const sql of statements) await connection.query(sql);
  const [results] = (await connection.query({
    sql: together ? [...statements, load].join(';\n') : load,
    infileStreamFactory: () => input,
  })) as [LoadResult | LoadResult[], unknown];
  return Array.isArray(results) ? results.at(-1)! : results;
}

/** Rolls the load back, naming the first of its warnings. */
async function undo(connection: MysqlConnection, count: number): Promise<LoadOutcome> {
  const [warnings] = await connection.query('SHOW WARNINGS LIMIT 1');
  await connection.query('ROLLBACK TO SAVEPOINT millrace_load');
  const first = (warnings as { Message?: string }[])[0]?.Message ?? 'unknown';
  return { loaded: false, reason: `${count} warning(s), first: ${first}` };
}
