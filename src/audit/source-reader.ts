import { isRowDataError } from '../errors/classify-error.js';
import { planKeysetRead, readKeysetChunks } from '../postgres/keyset-reader.js';
import type { PgClient } from '../postgres/pg-client.js';
import { readInBatches } from './read-in-batches.js';
import type { RowModel } from './row-model.js';
import type { PgStatement } from './sql/pg-statement.js';
import { selectSourceByKeys } from './sql/source-by-keys.js';

/** Runs one statement on the CRM; rows in array form. */
export async function querySource(client: PgClient, statement: PgStatement): Promise<unknown[][]> {
  const result = await client.query({
    text: statement.text,
    values: [...statement.values],
    rowMode: 'array',
  });
  return result.rows;
}

/**
 * The source table in the mapping's key order, in keyset chunks of `chunkSize` rows (columns as
 * in `model.sourceColumns`), the next chunk read while the caller compares the current one. Each
 * chunk is its own statement: no transaction stays open for the length of a 10M-row audit,
 * holding back vacuum.
 */
export function readSourceChunks(
  client: PgClient,
  model: RowModel,
  chunkSize: number,
): AsyncGenerator<unknown[][]> {
  const { mapping, sourceColumns } = model;
  const plan = planKeysetRead(mapping.source, mapping.sourceKeyColumns, sourceColumns);
  return readKeysetChunks(client, plan, chunkSize);
}

/**
 * Source rows with the given keys (PostgreSQL input texts per key column), in batches. A text
 * that is not a valid value of its column's type (a target key no source row can have) makes
 * PostgreSQL refuse the whole statement: the batch is split in halves until the culprits are
 * alone and left out, since no source row has them.
 */
export function lookupSource(
  client: PgClient,
  model: RowModel,
  keyTypes: readonly string[],
  keys: readonly (readonly string[])[],
): Promise<unknown[][]> {
  const { mapping, sourceColumns } = model;
  const fetch = async (batch: readonly (readonly string[])[]): Promise<unknown[][]> => {
    try {
      return await querySource(
        client,
        selectSourceByKeys(
          mapping.source,
          sourceColumns,
          mapping.sourceKeyColumns,
          keyTypes,
          batch,
        ),
      );
    } catch (error) {
      if (!isRowDataError(error)) throw error;
      if (batch.length === 1) return [];
      const half = Math.ceil(batch.length / 2);
      return [...(await fetch(batch.slice(0, half))), ...(await fetch(batch.slice(half)))];
    }
  };
  return readInBatches(keys, fetch);
}
