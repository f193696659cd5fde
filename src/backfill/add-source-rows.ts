import { describeError, ValueError } from '../errors/millrace-error.js';
import type {
  ChangeMeta,
  CompiledMapping,
  SourceRow,
  TargetRow,
} from '../mapping/compiled-mapping.js';
import type { TargetValue } from '../values/column-types.js';
import type { TargetBatch } from '../writes/target-batch.js';
import type { DeadLetter, Origin, RowWrite, WriteChunk } from '../writes/write-chunk.js';

/** What happened to the rows of one chunk. */
export interface RowCounts {
  /** Rows handed to the writer as upserts. */
  readonly copied: number;
  /** Rows outside the mapping's filter (nothing written for them). */
  readonly filtered: number;
  /** Rows left to the stream: a streamed change between the chunk's watermarks owns them. */
  readonly skipped: number;
  /** Rows whose values do not convert, recorded in millrace_dead_letters instead. */
  readonly deadLetters: number;
}

/**
 * Where mapped rows go: the pipeline's TargetBatch (online), a plain chunk (offline) or a LOAD
 * DATA file. `source` is the row `row` was mapped from, as the caller of mapSourceRow passed it.
 */
export interface RowSink {
  upsert(row: TargetRow, source: SourceRow): void;
  deadLetter(letter: DeadLetter): void;
}

interface MapRowsOptions {
  /** Metadata for the mapping's lsn / syncedAt columns. */
  readonly meta: ChangeMeta;
  /** Rows a newer streamed change owns: they must not be written. */
  readonly skip?: (row: SourceRow) => boolean;
}

/** What became of one source row. */
export type RowOutcome = 'copied' | 'filtered' | 'skipped' | 'deadLetter';

/** Where a backfilled row came from (its source values are what its dead letter replays). */
export function backfillOrigin(mapping: CompiledMapping, source: SourceRow): Origin {
  return { mapping: mapping.name, lsn: null, operation: 'backfill', sourceValues: source };
}

/** The target key of a projected row, in the mapping's key order. */
export function targetKeyOf(mapping: CompiledMapping, row: TargetRow): TargetValue[] {
  const { keyColumns } = mapping;
  // The projection holds the key columns, converted by the same functions as mapping.key.
  const key: TargetValue[] = new Array(keyColumns.length);
  for (let index = 0; index < keyColumns.length; index++) {
    key[index] = row[keyColumns[index]!] ?? null;
  }
  return key;
}

/**
 * Maps one source row through the compiled mapping exactly as the stream maps an insert: the
 * filter decides, the projection comes from the same function (so values are byte-identical),
 * and a value that does not convert becomes a dead letter for that row only. The dead letter
 * keeps a copy of `row`: a caller may reuse one object for every row it maps into a sink that
 * keeps no source row.
 */
export function mapSourceRow(
  mapping: CompiledMapping,
  row: SourceRow,
  sink: RowSink,
  options: MapRowsOptions,
): RowOutcome {
  try {
    if (mapping.matches(row) === false) return 'filtered';
    if (options.skip?.(row)) return 'skipped';
    sink.upsert(mapping.project(row, options.meta), row);
    return 'copied';
  } catch (error) {
    if (!(error instanceof ValueError)) throw error;
    const key: Record<string, unknown> = {};
    mapping.sourceKeyColumns.forEach((column, index) => {
      key[mapping.keyColumns[index]!] = row[column];
    });
    const origin = backfillOrigin(mapping, { ...row });
    sink.deadLetter({ origin, key, error: describeError(error) });
    return 'deadLetter';
  }
}

/** mapSourceRow for each of `rows`, counted. */
export function mapSourceRows(
  mapping: CompiledMapping,
  rows: readonly SourceRow[],
  sink: RowSink,
  options: MapRowsOptions,
): RowCounts {
  const counts = { copied: 0, filtered: 0, skipped: 0, deadLetters: 0 };
  for (const row of rows) countOutcome(counts, mapSourceRow(mapping, row, sink, options));
  return counts;
}

/** Adds one row's outcome to `counts`. */
export function countOutcome(
  counts: { copied: number; filtered: number; skipped: number; deadLetters: number },
  outcome: RowOutcome,
): void {
  if (outcome === 'copied') counts.copied++;
  else if (outcome === 'filtered') counts.filtered++;
  else if (outcome === 'skipped') counts.skipped++;
  else counts.deadLetters++;
}

/** The pipeline's batch as a sink: rows coalesce with the stream's writes of the same transaction. */
export function batchSink(mapping: CompiledMapping, batch: TargetBatch): RowSink {
  return {
    upsert: (row, source) =>
      batch.upsert(mapping, targetKeyOf(mapping, row), row, backfillOrigin(mapping, source)),
    deadLetter: (letter) => batch.deadLetter(letter),
  };
}

/**
 * A chunk for the writer, built directly: a keyset chunk holds each source row once, so the
 * per-key coalescing of TargetBatch has nothing to merge (two rows with one target key still
 * end as the last one, by the upsert's order), and skipping it saves a third of the CPU a row
 * costs on the offline path.
 */
export class ChunkSink implements RowSink {
  private readonly mapping: CompiledMapping;
  private upserts: RowWrite[] = [];
  private letters: DeadLetter[] = [];

  constructor(mapping: CompiledMapping) {
    this.mapping = mapping;
  }

  upsert(row: TargetRow, source: SourceRow): void {
    const { mapping } = this;
    this.upserts.push({
      key: targetKeyOf(mapping, row),
      row,
      origin: backfillOrigin(mapping, source),
    });
  }

  deadLetter(letter: DeadLetter): void {
    this.letters.push(letter);
  }

  /** The writes so far as one chunk (empty when nothing was mapped). */
  take(): WriteChunk {
    const chunk: WriteChunk = {
      resets: [],
      tables:
        this.upserts.length === 0
          ? []
          : [
              {
                table: this.mapping.target,
                keyColumns: this.mapping.keyColumns,
                deletes: [],
                updates: [],
                upserts: this.upserts,
              },
            ],
      deadLetters: this.letters,
    };
    this.upserts = [];
    this.letters = [];
    return chunk;
  }
}
