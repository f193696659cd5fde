import type { Logger } from '../log/logger.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { SourceFamily } from '../values/source-spec.js';
import { sourceLiterals } from './compare-mapping.js';
import {
  type ActualRow,
  actualSignature,
  imageSignature,
  type RowModel,
  type SourceImage,
} from './row-model.js';
import type { ReplicationProbe, SettleResult } from './settle.js';
import { waitForPosition } from './settle.js';
import { lookupSource } from './source-reader.js';
import {
  type Candidate,
  candidateSourceKey,
  candidateTargetKey,
  isDifference,
  type MappingTally,
  type Observation,
} from './tally.js';
import { lookupTarget } from './target-reader.js';

/** A mapping's tally with what lookups by key need. */
interface RecheckEntry {
  readonly tally: MappingTally;
  readonly keyTypes: readonly string[];
  readonly keyFamilies: readonly SourceFamily[];
}

interface RecheckOptions {
  readonly source: PgClient;
  readonly target: MysqlConnection;
  readonly logger: Logger;
  /** Wait for the replicator between reads (a replicator is active); otherwise one plain re-read. */
  readonly probe?: ReplicationProbe;
  /** When waiting stops, ms since the epoch. */
  readonly deadline: number;
}

export interface RecheckSummary {
  /** Differences that went away once the target caught up. */
  resolved: number;
  /** Differences seen again with the source unchanged around a settled target read. */
  confirmed: number;
  /** Differences the wait could not settle (timeout, replicator gone): reported as last seen. */
  unsettled: number;
  /** How waiting ended, when there was a replicator to wait for. */
  settle: SettleResult | 'not needed' | undefined;
  rounds: number;
}

/** A summary before any round; `waiting`: there is a replicator to wait for. */
export function emptySummary(waiting: boolean): RecheckSummary {
  return {
    resolved: 0,
    confirmed: 0,
    unsettled: 0,
    settle: waiting ? 'not needed' : undefined,
    rounds: 0,
  };
}

/** The source images of some candidates, read now, by canonical key. */
async function readSourceImages(
  source: PgClient,
  entry: RecheckEntry,
  candidates: readonly Candidate[],
): Promise<Map<string, SourceImage>> {
  const { model } = entry.tally;
  const literals: (readonly string[])[] = [];
  const seen = new Set<string>();
  for (const candidate of candidates) {
    const literal =
      candidateSourceKey(candidate, model.mapping.sourceKeyColumns) ??
      sourceLiterals(entry.keyFamilies, model.keyTargetColumns, candidate.keyParts);
    if (literal === undefined) continue;
    const id = JSON.stringify(literal);
    if (seen.has(id)) continue;
    seen.add(id);
    literals.push(literal);
  }
  const rows = await lookupSource(source, model, entry.keyTypes, literals);
  const images = new Map<string, SourceImage>();
  for (const values of rows) {
    const image = model.image(model.sourceRow(values));
    if (image !== undefined) images.set(image.key, image);
  }
  return images;
}

/** The live target rows of some candidates of `model`, read now, by canonical key. */
async function readTargetRows(
  target: MysqlConnection,
  model: RowModel,
  candidates: readonly Candidate[],
): Promise<Map<string, ActualRow>> {
  const keys: (readonly unknown[])[] = [];
  for (const candidate of candidates) {
    const values = candidateTargetKey(candidate);
    if (values !== undefined) keys.push(values);
  }
  const rows = await lookupTarget(target, model, keys);
  const actual = new Map<string, ActualRow>();
  for (const values of rows) {
    const row = model.actual(values);
    if (!row.deleted) actual.set(row.key, row);
  }
  return actual;
}

/** Both sides of some candidates, read now (the source first), by the candidates' keys. */
export async function readObservations(
  sides: { readonly source: PgClient; readonly target: MysqlConnection },
  entry: RecheckEntry,
  candidates: readonly Candidate[],
): Promise<Map<string, Observation>> {
  const images = await readSourceImages(sides.source, entry, candidates);
  const actual = await readTargetRows(sides.target, entry.tally.model, candidates);
  const observations = new Map<string, Observation>();
  for (const { key } of candidates) {
    observations.set(key, { source: images.get(key), target: actual.get(key) });
  }
  return observations;
}

interface Pending {
  readonly entry: RecheckEntry;
  readonly candidate: Candidate;
  /** Both sides' signatures at the last settled read that still showed a difference. */
  settledSignature?: string;
}

function byEntry(items: readonly Pending[]): Map<RecheckEntry, Pending[]> {
  const groups = new Map<RecheckEntry, Pending[]>();
  for (const item of items) {
    const list = groups.get(item.entry);
    if (list) list.push(item);
    else groups.set(item.entry, [item]);
  }
  return groups;
}

/**
 * Re-checks every difference of every mapping: the kept ones first, then those spilled to disk
 * (see MappingTally), in batches of bounded size.
 *
 * Without a probe (no replicator on the slot): one fresh read of both sides per key.
 *
 * With a probe, in rounds until nothing is left or the deadline passes:
 * 1. read the source rows of the pending keys, then the CRM position P (everything those reads
 *    saw committed at or below P);
 * 2. wait until the target has applied P (checkpoint or slot confirmed position);
 * 3. read the target rows: keys that agree now were in flight and are resolved;
 * 4. a key that differs with both sides exactly as at its previous settled round is confirmed:
 *    the target had caught up with that very source state twice and neither side moved. A key
 *    whose source flipped back (A, B, A) is read again on the target, which has caught up with
 *    the flip by then, so it never counts from the source alone.
 * A live replicator therefore never makes a key count as different: only a difference that
 * outlives a caught-up target with both sides unchanged does.
 *
 * `afterBatch` runs after each batch is settled (a live repair hooks in here).
 */
export async function recheck(
  entries: readonly RecheckEntry[],
  options: RecheckOptions,
  afterBatch?: (batch: ReadonlyMap<RecheckEntry, Candidate[]>) => Promise<void>,
): Promise<RecheckSummary> {
  const summary = emptySummary(options.probe !== undefined);
  let batches = 0;
  for await (const pending of pendingBatches(entries)) {
    batches++;
    if (options.probe === undefined) await rereadOnce(pending, options, summary);
    else await settleRounds(pending, options, options.probe, summary);
    if (afterBatch !== undefined) {
      const groups = byEntry(pending);
      await afterBatch(
        new Map([...groups].map(([entry, items]) => [entry, items.map((item) => item.candidate)])),
      );
    }
  }
  if (options.probe === undefined || batches === 0) return summary;
  options.logger.info(
    {
      resolved: summary.resolved,
      confirmed: summary.confirmed,
      unsettled: summary.unsettled,
      rounds: summary.rounds,
      batches,
    },
    're-checked differences',
  );
  return summary;
}

/** The kept differences of every mapping, then each mapping's spilled ones, batch by batch. */
async function* pendingBatches(entries: readonly RecheckEntry[]): AsyncGenerator<Pending[]> {
  const kept = entries.flatMap((entry) =>
    entry.tally.differences().map((candidate) => ({ entry, candidate })),
  );
  if (kept.length > 0) yield kept;
  for (const entry of entries) {
    for await (const batch of entry.tally.spilledBatches()) {
      yield batch.map((candidate) => ({ entry, candidate }));
    }
  }
}

/** No replicator: one fresh read of both sides settles every key. */
async function rereadOnce(
  pending: readonly Pending[],
  options: RecheckOptions,
  summary: RecheckSummary,
): Promise<void> {
  summary.rounds = 1;
  for (const [entry, items] of byEntry(pending)) {
    const candidates = items.map((item) => item.candidate);
    const observations = await readObservations(options, entry, candidates);
    for (const candidate of candidates) {
      entry.tally.revise(candidate, observations.get(candidate.key)!);
      if (isDifference(candidate.verdict)) summary.confirmed++;
      else summary.resolved++;
    }
  }
}

/** The rounds of recheck's doc comment, until nothing is pending or waiting stops. */
async function settleRounds(
  initial: readonly Pending[],
  options: RecheckOptions,
  probe: ReplicationProbe,
  summary: RecheckSummary,
): Promise<void> {
  let pending = initial;
  for (let round = 1; pending.length > 0; round++) {
    summary.rounds++;
    const images = new Map<RecheckEntry, Map<string, SourceImage>>();
    for (const [entry, items] of byEntry(pending)) {
      const candidates = items.map((item) => item.candidate);
      images.set(entry, await readSourceImages(options.source, entry, candidates));
    }
    const position = await probe.readPosition();
    const settled = await waitForPosition(probe, position, options.deadline, options.logger);
    if (settled !== 'reached') {
      summary.settle = settled;
      summary.unsettled += pending.length;
      return;
    }
    summary.settle = 'reached';
    pending = await reviseSettled(pending, images, options.target, summary);
    // Past the deadline a batch still gets the two settled rounds a confirmation needs.
    if (pending.length > 0 && round >= 2 && Date.now() >= options.deadline) {
      summary.settle = 'timeout';
      summary.unsettled += pending.length;
      return;
    }
  }
}

/**
 * Steps 3 and 4: reads the target rows of the open keys now that the target has caught up, and
 * revises them against this round's source images; returns the keys still to be confirmed.
 */
async function reviseSettled(
  open: readonly Pending[],
  images: ReadonlyMap<RecheckEntry, Map<string, SourceImage>>,
  target: MysqlConnection,
  summary: RecheckSummary,
): Promise<Pending[]> {
  const next: Pending[] = [];
  for (const [entry, items] of byEntry(open)) {
    const candidates = items.map((item) => item.candidate);
    const actual = await readTargetRows(target, entry.tally.model, candidates);
    const sourceImages = images.get(entry)!;
    for (const item of items) {
      const image = sourceImages.get(item.candidate.key);
      entry.tally.revise(item.candidate, {
        source: image,
        target: actual.get(item.candidate.key),
      });
      if (!isDifference(item.candidate.verdict)) {
        summary.resolved++;
        continue;
      }
      const signature = `${imageSignature(image)}\u0000${actualSignature(actual.get(item.candidate.key))}`;
      if (item.settledSignature === signature) {
        summary.confirmed++;
      } else {
        item.settledSignature = signature;
        next.push(item);
      }
    }
  }
  return next;
}
