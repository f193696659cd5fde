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

/** Where mapped rows go: the pipeline's TargetBatch (online) or a plain chunk (offline). */
export interface RowSink {
  upsert(key: readonly TargetValue[], row: TargetRow, origin: Origin): void;
  deadLetter(letter: DeadLetter): void;
}

interface MapRowsOptions {
  /** Metadata for the mapping's lsn / syncedAt columns. */
  readonly meta: ChangeMeta;
  /** Rows a newer streamed change owns: they must not be written. */
  readonly skip?: (row: SourceRow) => boolean;
}

/**
 * Maps source rows through the compiled mapping exactly as the stream maps an insert: the
 * filter decides, the projection comes from the same function (so values are byte-identical),
 * and a value that does not convert becomes a dead letter for that row only.
 */
export function mapSourceRows(
  mapping: CompiledMapping,
  rows: readonly SourceRow[],
  sink: RowSink,
  options: MapRowsOptions,
): RowCounts {
  let copied = 0;
  let filtered = 0;
  let skipped = 0;
  let deadLetters = 0;
  const { meta, skip } = options;
  const keyColumns = mapping.keyColumns;
  for (const row of rows) {
    const origin: Origin = {
      mapping: mapping.name,
      lsn: null,
      operation: 'backfill',
      sourceValues: row,
    };
    try {
      if (mapping.matches(row) === false) {
        filtered++;
        continue;
      }
      if (skip?.(row)) {
        skipped++;
        continue;
      }
      const projected = mapping.project(row, meta);
      // The projection holds the key columns, converted by the same functions as mapping.key.
      const key: TargetValue[] = new Array(keyColumns.length);
      for (let index = 0; index < keyColumns.length; index++) {
        key[index] = projected[keyColumns[index]!] ?? null;
      }
      sink.upsert(key, projected, origin);
      copied++;
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      const key: Record<string, unknown> = {};
      mapping.sourceKeyColumns.forEach((column, index) => {
        key[mapping.keyColumns[index]!] = row[column];
      });
      sink.deadLetter({ origin, key, error: describeError(error) });
      deadLetters++;
    }
  }
  return { copied, filtered, skipped, deadLetters };
}

/** The pipeline's batch as a sink: rows coalesce with the stream's writes of the same transaction. */
export function batchSink(mapping: CompiledMapping, batch: TargetBatch): RowSink {
  return {
    upsert: (key, row, origin) => batch.upsert(mapping, key, row, origin),
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

  upsert(key: readonly TargetValue[], row: TargetRow, origin: Origin): void {
    this.upserts.push({ key, row, origin });
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
