import { ValueError } from '../errors/millrace-error.js';
import type { ChangeMeta, CompiledMapping, SourceRow } from '../mapping/compiled-mapping.js';
import type { StoredLetter } from '../mysql/dead-letters.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { deleteDeadLetters } from '../mysql/sql/delete-dead-letters.js';
import type { TargetWriter } from '../mysql/writer.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { TargetValue } from '../values/column-types.js';
import { targetKeyIdentity, targetValueAsText } from '../values/key-text.js';
import { TargetBatch } from '../writes/target-batch.js';
import { batchSink, mapSourceRows } from './add-source-rows.js';
import {
  addRemovals,
  lookupCandidates,
  planPrune,
  readKeyTypes,
  type StaleRow,
  type TargetKeyRow,
} from './stale-rows.js';

/** What one replayed page of letters came to. */
export interface ReplayCounts {
  /** Letters whose row was written (or removed) and which were deleted. */
  readonly replayed: number;
  /** Letters whose row failed again: recorded anew with the new error, in the same transaction. */
  readonly failed: number;
  /** Letters left alone: no such mapping any more, or a key that no longer names a source row. */
  readonly skipped: number;
}

interface ReplayOptions {
  /** Reads the letters' source rows again, by key. */
  readonly source: PgClient;
  /** The one writer, on a session whose slot no replicator writes to meanwhile. */
  readonly writer: TargetWriter;
  /** Counts the rows the writer refuses again (its onDeadLetter). */
  readonly refusals: () => number;
}

/**
 * A letter's target key in the mapping's key order; undefined when a key column is missing.
 * The record spells Buffers as `\x…` hex (targetKeyRecord): turned back into Buffers for the
 * `binary` key columns, so the key written or deleted is the one the stream would use.
 */
function targetKeyOf(
  mapping: CompiledMapping,
  letter: StoredLetter,
  binary: ReadonlySet<string> = new Set(),
): TargetKeyRow | undefined {
  const key: TargetValue[] = [];
  for (const column of mapping.keyColumns) {
    const value = letter.key[column];
    if (value === undefined || value === null) return undefined;
    const hex =
      typeof value === 'string' && binary.has(column) ? /^\\x([0-9a-f]*)$/i.exec(value) : null;
    key.push(hex ? Buffer.from(hex[1]!, 'hex') : value);
  }
  return { key, record: letter.key, flagged: false };
}

/** Whether a present source row is outside the mapping's filter (a row that left it is removed). */
function leftFilter(mapping: CompiledMapping, row: SourceRow): boolean {
  try {
    return mapping.matches(row) === false;
  } catch (error) {
    // A filter column that does not convert: mapSourceRows turns the row into a letter again.
    if (error instanceof ValueError) return false;
    throw error;
  }
}

/**
 * Replays one mapping's letters offline: each letter's current source row is read again by its
 * key (the target key mapped back to the source key columns) and written through the same
 * mapping and conversions as a backfill writes it, or removed as the stream removes a deleted or
 * filtered-out row; the letters are deleted in the same target transaction. A row refused again
 * becomes a letter anew (with the new error) in that transaction, so no letter is ever lost.
 */
export async function replayLetters(
  options: ReplayOptions,
  mapping: CompiledMapping,
  letters: readonly StoredLetter[],
): Promise<ReplayCounts> {
  const keyed = letters.flatMap((letter) => {
    const candidate = targetKeyOf(mapping, letter);
    return candidate ? [{ letter, candidate }] : [];
  });
  if (keyed.length === 0) return { replayed: 0, failed: 0, skipped: letters.length };
  const lookup = { mapping, keyTypes: await readKeyTypes(options.source, mapping) };
  const found = await lookupCandidates(
    options.source,
    lookup,
    keyed.map((entry) => entry.candidate),
  );
  const batch = new TargetBatch();
  const meta: ChangeMeta = { lsn: 0n, syncedAt: new Date() };
  const present: SourceRow[] = [];
  const removed: StaleRow[] = [];
  keyed.forEach(({ candidate }, index) => {
    const row = found[index]?.row;
    if (row !== undefined && !leftFilter(mapping, row)) present.push(row);
    else {
      const reason = row === undefined ? 'delete' : 'filter';
      removed.push({ key: candidate.key, reason, flagged: false, sourceIdentities: [] });
    }
  });
  mapSourceRows(mapping, present, batchSink(mapping, batch), { meta });
  addRemovals(planPrune(mapping, [lookup]), removed, batch, meta);
  const before = options.refusals();
  if (batch.size > 0) await options.writer.apply(batch.take());
  const ids = keyed.map((entry) => entry.letter.id);
  await options.writer.commit({ statements: [deleteDeadLetters({ ids })] });
  const failed = options.refusals() - before;
  return { replayed: keyed.length - failed, failed, skipped: letters.length - keyed.length };
}

/** Hands a mapping's target keys to the running replicator; resolves once it applied them. */
type StreamChannel = (
  mapping: string,
  keys: readonly (readonly TargetValue[])[],
) => Promise<{ readonly deadLetters: number }>;

/**
 * Replays one mapping's letters beside a running replicator: their target keys go through its
 * stream (millrace_repairs), which writes each key's current source row, or removes it as the
 * mapping's onDelete says, at a stream position of its own, so the replay never overwrites a
 * newer streamed change. Once applied, the letters are deleted by id; a row refused again has
 * meanwhile been recorded anew by the replicator, with the new error.
 */
export async function replayLettersInStream(
  options: {
    readonly channel: StreamChannel;
    /** Deletes the replayed letters. */
    readonly control: MysqlConnection;
    /** Target key columns holding binary values. */
    readonly binary: ReadonlySet<string>;
  },
  mapping: CompiledMapping,
  letters: readonly StoredLetter[],
): Promise<ReplayCounts> {
  const keyed = letters.flatMap((letter) => {
    const candidate = targetKeyOf(mapping, letter, options.binary);
    return candidate ? [{ letter, key: candidate.key }] : [];
  });
  if (keyed.length === 0) return { replayed: 0, failed: 0, skipped: letters.length };
  const keys = new Map(keyed.map(({ key }) => [targetKeyIdentity(key), key] as const));
  const result = await options.channel(mapping.name, [...keys.values()]);
  const statement = deleteDeadLetters({ ids: keyed.map((entry) => entry.letter.id) });
  await options.control.query(statement.sql, [...statement.values]);
  const failed = Math.min(result.deadLetters, keyed.length);
  return { replayed: keyed.length - failed, failed, skipped: letters.length - keyed.length };
}

/** The key of a letter as text, for messages. */
export function letterKeyText(letter: StoredLetter): string {
  return Object.entries(letter.key)
    .map(([column, value]) => `${column}=${targetValueAsText(value) ?? 'NULL'}`)
    .join(', ');
}
