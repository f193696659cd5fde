import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { Statement } from '../mysql/sql/quote.js';
import type { ChunkHasher } from './chunk-hash.js';
import { readInBatches } from './read-in-batches.js';
import type { RowModel } from './row-model.js';
import type { KeyBounds } from './sql/key-bounds.js';
import { selectTargetByKeys } from './sql/target-by-keys.js';
import { selectTargetRange } from './sql/target-range.js';
import { hashTargetRange } from './sql/target-range-hash.js';

// Every read below sees only the mapping's own rows when it shares its target table with
// mappings of other source tables (`mapping.owner`): theirs are neither extra nor counted.

export async function queryRows(
  connection: MysqlConnection,
  statement: Statement,
): Promise<unknown[][]> {
  const [rows] = await connection.query({ sql: statement.sql, rowsAsArray: true }, [
    ...statement.values,
  ]);
  return rows as unknown[][];
}

/**
 * The target rows (`model.targetSelect`) of a key range, in sub-chunks of `limit` rows walked by
 * keyset inside the range: a range the source left empty may hold any number of target rows.
 * `first` is a query already sent for the first sub-chunk, if any.
 */
export async function* readTargetRange(
  connection: MysqlConnection,
  model: RowModel,
  bounds: KeyBounds,
  limit: number,
  first?: Promise<unknown[][]>,
): AsyncGenerator<readonly (readonly unknown[])[]> {
  const { mapping, targetSelect, keyColumns } = model;
  const keyCount = keyColumns.length;
  let pending: Promise<unknown[][]> | undefined =
    first ??
    queryRows(
      connection,
      selectTargetRange(mapping.target, targetSelect, keyColumns, bounds, limit, mapping.owner),
    );
  try {
    while (pending !== undefined) {
      const rows: unknown[][] = await pending;
      pending = undefined;
      if (rows.length === limit) {
        const after = model.bindKey(rows[rows.length - 1]!.slice(0, keyCount));
        pending = queryRows(
          connection,
          selectTargetRange(
            mapping.target,
            targetSelect,
            keyColumns,
            { after, upTo: bounds.upTo },
            limit,
            mapping.owner,
          ),
        );
      }
      yield rows;
    }
  } finally {
    pending?.catch(() => undefined);
  }
}

/** Starts the first sub-chunk query of a range (so it runs while the caller works). */
export function startTargetRange(
  connection: MysqlConnection,
  model: RowModel,
  bounds: KeyBounds,
  limit: number,
): Promise<unknown[][]> {
  const promise = queryRows(
    connection,
    selectTargetRange(
      model.mapping.target,
      model.targetSelect,
      model.keyColumns,
      bounds,
      limit,
      model.mapping.owner,
    ),
  );
  promise.catch(() => undefined);
  return promise;
}

/** Count and digest of a range's live rows, computed by the server. */
export async function hashTargetRangeRows(
  connection: MysqlConnection,
  model: RowModel,
  hasher: ChunkHasher,
  bounds: KeyBounds,
): Promise<{ count: number; digest: string | null }> {
  const rows = await queryRows(
    connection,
    hashTargetRange(
      model.mapping.target,
      hasher.rowSql,
      model.keyColumns,
      bounds,
      hasher.liveSql,
      model.mapping.owner,
    ),
  );
  const [count, digest] = rows[0] ?? [0, null];
  return { count: Number(count), digest: digest === null ? null : String(digest) };
}

/** Target rows (`model.targetSelect`) with these keys, in batches. */
export function lookupTarget(
  connection: MysqlConnection,
  model: RowModel,
  keys: readonly (readonly unknown[])[],
): Promise<unknown[][]> {
  const { mapping, targetSelect, keyColumns } = model;
  return readInBatches(keys, (batch) =>
    queryRows(
      connection,
      selectTargetByKeys(
        mapping.target,
        targetSelect,
        keyColumns,
        batch.map(model.bindKey),
        mapping.owner,
      ),
    ),
  );
}
