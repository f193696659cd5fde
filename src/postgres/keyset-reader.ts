import type { PgClient } from './pg-client.js';
import { quotePgIdent, quotePgTable } from './pg-client.js';

/**
 * How one table is read in key order, in chunks: keyset pagination on a unique key, so each
 * chunk is an index range scan that starts where the last one ended (resumable, no long-running
 * transaction holding back vacuum, no OFFSET that slows down as it goes).
 */
export interface KeysetPlan {
  /** Columns of each row, in row order: the key columns first, then the others. */
  readonly columns: readonly string[];
  /** Columns the keyset orders by, in key order. */
  readonly keyColumns: readonly string[];
  /** Where each key column sits in a row. */
  readonly keyIndexes: readonly number[];
  readonly firstSql: string;
  readonly afterSql: string;
  /** The table read, for statements built around the same keyset (see keysetSql). */
  readonly table: { readonly schema: string; readonly table: string };
}

/** Plans reading `columns` (plus the key) of `table` in `keyColumns` order. */
export function planKeysetRead(
  table: { readonly schema: string; readonly table: string },
  keyColumns: readonly string[],
  columns: readonly string[],
): KeysetPlan {
  const selected = [...new Set([...keyColumns, ...columns])];
  const shape = { table, keyColumns, columns: selected };
  return Object.freeze({
    table,
    columns: Object.freeze(selected),
    keyColumns: Object.freeze([...keyColumns]),
    keyIndexes: Object.freeze(keyColumns.map((column) => selected.indexOf(column))),
    firstSql: keysetSql(shape, null, '$1'),
    afterSql: keysetSql(
      shape,
      keyColumns.map((_, index) => `$${index + 2}`),
      '$1',
    ),
  });
}

/**
 * The chunk query of a plan, with the position after which it starts (`after`, one SQL
 * expression per key column, null for the first chunk) and the row limit spelled by the caller:
 * placeholders for a query, literals for a COPY (which takes no parameters).
 */
export function keysetSql(
  plan: {
    readonly table: { readonly schema: string; readonly table: string };
    readonly keyColumns: readonly string[];
    readonly columns: readonly string[];
  },
  after: readonly string[] | null,
  limit: string,
): string {
  const list = plan.columns.map(quotePgIdent).join(', ');
  const from = quotePgTable(plan.table.schema, plan.table.table);
  const order = plan.keyColumns.map(quotePgIdent).join(', ');
  if (after === null) return `select ${list} from ${from} order by ${order} limit ${limit}`;
  // A row comparison is what lets PostgreSQL turn a composite keyset into one index range.
  const where =
    plan.keyColumns.length === 1
      ? `${quotePgIdent(plan.keyColumns[0]!)} > ${after[0]}`
      : `(${order}) > (${after.join(', ')})`;
  return `select ${list} from ${from} where ${where} order by ${order} limit ${limit}`;
}

/** The `limit` rows after the key `after` (from the start when null), in `plan.columns` order. */
export async function readKeysetChunk(
  client: PgClient,
  plan: KeysetPlan,
  after: readonly unknown[] | null,
  limit: number,
): Promise<unknown[][]> {
  const count = Math.max(1, Math.floor(limit));
  const result =
    after === null
      ? await client.query({ text: plan.firstSql, values: [count], rowMode: 'array' })
      : await client.query({ text: plan.afterSql, values: [count, ...after], rowMode: 'array' });
  return result.rows;
}

/** The keyset position of a row read through `plan`. */
function keyOfKeysetRow(plan: KeysetPlan, row: readonly unknown[]): unknown[] {
  return plan.keyIndexes.map((index) => row[index]);
}

/**
 * The whole table in key order, in chunks of `chunkSize` rows. The next chunk is asked for as
 * soon as one arrives, so PostgreSQL produces it while the caller works on the current one.
 */
export async function* readKeysetChunks(
  client: PgClient,
  plan: KeysetPlan,
  chunkSize: number,
): AsyncGenerator<unknown[][]> {
  let pending: Promise<unknown[][]> | undefined = readKeysetChunk(client, plan, null, chunkSize);
  try {
    while (pending !== undefined) {
      const rows: unknown[][] = await pending;
      pending = undefined;
      if (rows.length === chunkSize) {
        const after = keyOfKeysetRow(plan, rows[rows.length - 1]!);
        pending = readKeysetChunk(client, plan, after, chunkSize);
      }
      yield rows;
    }
  } finally {
    // A caller that stops early must not leave a rejected prefetch unhandled.
    pending?.catch(() => undefined);
  }
}
