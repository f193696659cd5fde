import { isRowDataError } from '../errors/classify-error.js';
import type { RowModel } from './row-model.js';
import { selectSourceByKeys } from './sql/source-by-keys.js';
import { type PgStatement, selectSourceChunk } from './sql/source-chunk.js';

/**
 * The slice of a `pg` client the audit reads the CRM with: array rows, values in text form
 * (pgClientConfig's type parsers).
 */
export interface SourceQueryable {
  query(config: {
    readonly text: string;
    readonly values: unknown[];
    readonly rowMode: 'array';
  }): Promise<{ rows: unknown[][] }>;
}

export type SourceRowValues = readonly unknown[];

async function run(client: SourceQueryable, statement: PgStatement): Promise<unknown[][]> {
  const result = await client.query({
    text: statement.text,
    values: [...statement.values],
    rowMode: 'array',
  });
  return result.rows;
}

/**
 * The source table in key order, in keyset chunks of `chunkSize` rows (columns as in
 * `model.sourceColumns`). The next chunk is asked for as soon as one arrives, so PostgreSQL
 * produces it while the caller compares the current one. Each chunk is its own statement: no
 * transaction stays open for the length of a 10M-row audit, holding back vacuum.
 */
export async function* readSourceChunks(
  client: SourceQueryable,
  model: RowModel,
  chunkSize: number,
): AsyncGenerator<readonly SourceRowValues[]> {
  const { mapping, sourceColumns } = model;
  const keyIndexes = mapping.sourceKeyColumns.map((column) => sourceColumns.indexOf(column));
  const chunk = (after: readonly unknown[] | undefined) =>
    run(
      client,
      selectSourceChunk(mapping.source, sourceColumns, mapping.sourceKeyColumns, after, chunkSize),
    );
  let pending: Promise<unknown[][]> | undefined = chunk(undefined);
  try {
    while (pending !== undefined) {
      const rows: unknown[][] = await pending;
      pending = undefined;
      if (rows.length === chunkSize) {
        const last = rows[rows.length - 1]!;
        pending = chunk(keyIndexes.map((index) => last[index]));
      }
      yield rows;
    }
  } finally {
    // A caller that stops early must not leave a rejected prefetch unhandled.
    pending?.catch(() => undefined);
  }
}

/**
 * Source rows with the given keys (PostgreSQL input texts per key column), in batches. A text
 * that is not a valid value of its column's type (a target key no source row can have) makes
 * PostgreSQL refuse the whole statement: the batch is split in halves until the culprits are
 * alone and left out, since no source row has them.
 */
export async function lookupSource(
  client: SourceQueryable,
  model: RowModel,
  keyTypes: readonly string[],
  keys: readonly (readonly string[])[],
  batchSize = 5_000,
): Promise<unknown[][]> {
  const { mapping, sourceColumns } = model;
  const found: unknown[][] = [];
  const fetch = async (batch: readonly (readonly string[])[]): Promise<void> => {
    if (batch.length === 0) return;
    try {
      const rows = await run(
        client,
        selectSourceByKeys(
          mapping.source,
          sourceColumns,
          mapping.sourceKeyColumns,
          keyTypes,
          batch,
        ),
      );
      for (const row of rows) found.push(row);
    } catch (error) {
      if (!isRowDataError(error) || batch.length === 1) {
        if (isRowDataError(error)) return;
        throw error;
      }
      const half = Math.ceil(batch.length / 2);
      await fetch(batch.slice(0, half));
      await fetch(batch.slice(half));
    }
  };
  for (let start = 0; start < keys.length; start += batchSize) {
    await fetch(keys.slice(start, start + batchSize));
  }
  return found;
}
