import type { ActualRow, ExpectedRow, FilteredRow, RowModel, SourceImage } from './row-model.js';
import { isDifference, type MappingTally, type Verdict } from './tally.js';

/** Called for every difference found, in scan order (a streaming repair hooks in here). */
export type DifferenceHandler = (
  model: RowModel,
  verdict: Verdict,
  source: SourceImage | undefined,
  target: ActualRow | undefined,
) => Promise<void> | void;

/** A source chunk's images: the rows the target must hold, in source order, and filtered ones. */
export interface ChunkImages {
  readonly expected: ExpectedRow[];
  readonly filtered: Map<string, FilteredRow>;
  /** Every expected row converts: only then can a digest stand for the chunk. */
  readonly clean: boolean;
}

export function classifyChunk(model: RowModel, rows: readonly (readonly unknown[])[]): ChunkImages {
  const expected: ExpectedRow[] = [];
  const filtered = new Map<string, FilteredRow>();
  let clean = true;
  for (const row of rows) {
    const image = model.image(model.sourceRow(row));
    if (image === undefined) continue;
    if (image.kind === 'filtered') filtered.set(image.key, image);
    else {
      expected.push(image);
      if (image.error !== undefined) clean = false;
    }
  }
  return { expected, filtered, clean };
}

/**
 * Compares the rows of one key range row by row: every live target row of the range (the
 * batches of `targetRows`, in key order) is judged, and the expected rows no target row claimed
 * are missing. Returns the number of target rows read.
 */
export async function judgeRangeRows(
  model: RowModel,
  tally: MappingTally,
  images: ChunkImages,
  targetRows:
    | AsyncIterable<readonly (readonly unknown[])[]>
    | Iterable<readonly (readonly unknown[])[]>,
  onDifference: DifferenceHandler | undefined,
): Promise<number> {
  let read = 0;
  const pending = new Map<string, ExpectedRow>();
  for (const image of images.expected) pending.set(image.key, image);
  for await (const batch of targetRows) {
    read += batch.length;
    for (const values of batch) {
      const actual = model.actual(values);
      if (actual.deleted) continue;
      const image: SourceImage | undefined =
        pending.get(actual.key) ?? images.filtered.get(actual.key);
      if (image?.kind === 'expected') pending.delete(actual.key);
      const verdict = tally.record(image, actual, actual.key, actual.keyParts);
      if (onDifference !== undefined && isDifference(verdict)) {
        await onDifference(model, verdict, image, actual);
      }
    }
  }
  // Kept in source order: what no target row claimed is missing.
  for (const image of images.expected) {
    if (!pending.has(image.key)) continue;
    const verdict = tally.record(image, undefined, image.key, image.keyParts);
    if (onDifference !== undefined) await onDifference(model, verdict, image, undefined);
  }
  return read;
}
