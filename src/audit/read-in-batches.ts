/** Keys per lookup statement: bounded so one statement's parameters and result stay small. */
const batchSize = 5_000;

/** Runs `read` over `items` in batches, one after the other, and joins the results. */
export async function readInBatches<T, R>(
  items: readonly T[],
  read: (batch: readonly T[]) => Promise<readonly R[]>,
): Promise<R[]> {
  const found: R[] = [];
  for (let start = 0; start < items.length; start += batchSize) {
    for (const row of await read(items.slice(start, start + batchSize))) found.push(row);
  }
  return found;
}
