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
}

/** Plans reading `columns` (plus the key) of `table` in `keyColumns` order. */
export function planKeysetRead(
  table: { readonly schema: string; readonly table: string },
  keyColumns: readonly string[],
  columns: readonly string[],
): KeysetPlan {
  const selected = [...new Set([...keyColumns, ...columns])];
  const list = selected.map(quotePgIdent).join(', ');
  const from = quotePgTable(table.schema, table.table);
  const order = keyColumns.map(quotePgIdent).join(', ');
  // A row comparison is what lets PostgreSQL turn a composite keyset into one index range.
  const after =
    keyColumns.length === 1
      ? `${quotePgIdent(keyColumns[0]!)} > $2`
      : `(${order}) > (${keyColumns.map((_, index) => `$${index + 2}`).join(', ')})`;
  return Object.freeze({
    columns: Object.freeze(selected),
    keyColumns: Object.freeze([...keyColumns]),
    keyIndexes: Object.freeze(keyColumns.map((column) => selected.indexOf(column))),
    firstSql: `select ${list} from ${from} order by ${order} limit $1`,
    afterSql: `select ${list} from ${from} where ${after} order by ${order} limit $1`,
  });
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
