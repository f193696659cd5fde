import { PassThrough, type Readable } from 'node:stream';
import type { CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import { LoadDataText } from '../mysql/load-data/load-data-text.js';
import type { LoadPlan } from '../mysql/load-data/load-rows.js';
import { copyChunkSql, readCopyData } from '../postgres/copy-reader.js';
import { type CopyFields, CopyTextParser } from '../postgres/copy-text.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { DeadLetter } from '../writes/write-chunk.js';
import { countOutcome, mapSourceRow, type RowCounts, type RowSink } from './add-source-rows.js';
import type { SourceReadPlan } from './source-reader.js';

/** What reading one chunk found, once it is read to the end. */
export interface ChunkRead {
  /** Source rows read. */
  readonly rows: number;
  /** The keyset position of the last row read (the one before when nothing was read). */
  readonly lastKey: readonly string[] | null;
  /** The last row read, for the target key it maps to. */
  readonly lastRow: SourceRow | null;
  readonly counts: RowCounts;
  /** Rows whose values do not convert: not in the file. */
  readonly deadLetters: readonly DeadLetter[];
}

/** One chunk on its way: the file of its mapped rows, produced while the chunk is read. */
export interface CopiedChunk {
  readonly file: Readable;
  readonly read: Promise<ChunkRead>;
}

interface CopyChunkOptions {
  readonly source: PgClient;
  readonly mapping: CompiledMapping;
  readonly read: SourceReadPlan;
  readonly load: LoadPlan;
  readonly after: readonly string[] | null;
  readonly limit: number;
}

/**
 * How much of a chunk's file waits for the loader before the COPY is paused: enough to read a
 * typical chunk to its end while the one before is committing, bounded for wide rows.
 */
const fileBuffer = 8 * 1024 * 1024;

/**
 * Reads the chunk of `limit` source rows after `after` with COPY and maps each batch through the
 * compiled mapping (the stream's own conversions) into LOAD DATA lines, as it arrives. Rows that
 * do not convert become dead letters and stay out of the file.
 */
export function copyChunk(options: CopyChunkOptions): CopiedChunk {
  const file = new PassThrough({ highWaterMark: fileBuffer });
  const read = produce(options, file);
  // A chunk whose load failed is abandoned; its reading must not reject unobserved.
  read.catch((error: unknown) => file.destroy(error as Error));
  return { file, read };
}

async function produce(options: CopyChunkOptions, file: PassThrough): Promise<ChunkRead> {
  const { mapping, read } = options;
  const text = new LoadDataText(options.load.columns, options.load.forms);
  const deadLetters: DeadLetter[] = [];
  const sink: RowSink = {
    upsert: (row) => text.add(row),
    deadLetter: (letter) => deadLetters.push(letter),
  };
  const mapOptions = { meta: { lsn: 0n, syncedAt: new Date() } };
  const counts = { copied: 0, filtered: 0, skipped: 0, deadLetters: 0 };
  const { columns } = read;
  // One source row object for the whole chunk, its properties in one fixed order: the text file
  // keeps nothing of it, and a dead letter keeps a copy.
  const row: Record<string, string | null> = Object.fromEntries(
    columns.map((column) => [column, null]),
  );
  const onRow = (fields: CopyFields) => {
    for (let index = 0; index < columns.length; index++) row[columns[index]!] = fields[index]!;
    countOutcome(counts, mapSourceRow(mapping, row, sink, mapOptions));
  };
  const parser = new CopyTextParser(columns.length);
  let rows = 0;
  for await (const data of readCopyData(
    options.source,
    copyChunkSql(read, options.after, options.limit),
  )) {
    rows += parser.write(data, onRow);
    const bytes = text.take();
    if (bytes !== null && !file.write(bytes)) await drained(file);
    if (file.destroyed) throw new Error('the chunk was abandoned while it was read');
  }
  parser.end();
  file.end();
  // After the loop the object holds the last row read.
  const lastRow: SourceRow | null = rows === 0 ? null : { ...row };
  const lastKey =
    lastRow === null ? options.after : read.keyColumns.map((column) => lastRow[column] as string);
  return { rows, lastKey, lastRow, counts, deadLetters };
}

/** Until the loader has taken the buffered bytes, or gave up on the file. */
function drained(file: PassThrough): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      file.off('drain', done);
      file.off('close', done);
      resolve();
    };
    file.on('drain', done);
    file.on('close', done);
  });
}
