import type { TargetValue } from '../values/column-types.js';
import { decodeTargetKey, encodeTargetKey } from '../values/key-text.js';
import { type CellDifference, type MappingReport, sampledReport } from './audit-report.js';
import type { ActualRow, RowModel, SourceImage } from './row-model.js';
import { SpillFile } from './spill-file.js';

/**
 * What the audit concluded about one key:
 * - `matched`, `different`: the source implies a row (it passes the filter) and the target has it;
 * - `missing`: the source implies a row the target does not have (or has soft-deleted);
 * - `extra`: the target has a live row the source does not imply: the source row is gone, or
 *   outside the filter (the stream deletes a row that leaves the filter, whatever onDelete);
 * - `retained`: onDelete: ignore and the source row is gone. Those mappings keep history on
 *   purpose, so the row is neither extra nor a difference; it counts in targetRows only;
 * - `none`: neither side has a row.
 */
export type KeyStatus = 'matched' | 'missing' | 'extra' | 'different' | 'retained' | 'none';

/** Both sides of one key at one moment; undefined = absent (a soft-deleted target row is absent). */
export interface Observation {
  readonly source: SourceImage | undefined;
  readonly target: ActualRow | undefined;
}

export interface Verdict {
  readonly status: KeyStatus;
  readonly columns?: Record<string, CellDifference>;
}

// Shared verdicts: judge runs once per row of a 10M-row audit.
const verdicts = Object.freeze({
  matched: Object.freeze({ status: 'matched' }),
  missing: Object.freeze({ status: 'missing' }),
  extra: Object.freeze({ status: 'extra' }),
  retained: Object.freeze({ status: 'retained' }),
  none: Object.freeze({ status: 'none' }),
} satisfies Record<string, Verdict>);

function judgeSides(
  model: RowModel,
  source: SourceImage | undefined,
  target: ActualRow | undefined,
): Verdict {
  if (source?.kind === 'expected') {
    if (target === undefined) return verdicts.missing;
    const columns = model.diff(source, target);
    return columns === undefined ? verdicts.matched : { status: 'different', columns };
  }
  if (target === undefined) return verdicts.none;
  if (source === undefined && model.mapping.onDelete === 'ignore') return verdicts.retained;
  return verdicts.extra;
}

/** A differing key kept for re-checking, repair and samples. */
export interface Candidate {
  readonly key: string;
  readonly keyParts: readonly string[];
  observation: Observation;
  verdict: Verdict;
  /** What the last main-pass or re-check read contributed to the counts (to move it on re-check). */
  counted: Counted;
  /** How to look the key up again when the observation no longer carries it (read back from disk). */
  readonly lookup?: KeyLookup;
}

/** A key as each side's lookups take it. */
interface KeyLookup {
  /** The source key columns' text forms; undefined: derive them from the canonical key. */
  readonly sourceKey: readonly string[] | undefined;
  /** The target key values (as written or as read). */
  readonly targetKey: readonly unknown[] | undefined;
}

/** The source key of a candidate, as PostgreSQL text forms, when a side knows it. */
export function candidateSourceKey(
  candidate: Candidate,
  sourceKeyColumns: readonly string[],
): readonly string[] | undefined {
  const known = candidate.observation.source;
  if (known !== undefined) return sourceKeyColumns.map((column) => String(known.row[column]));
  return candidate.lookup?.sourceKey;
}

/** The target key values of a candidate, when a side knows them. */
export function candidateTargetKey(candidate: Candidate): readonly unknown[] | undefined {
  const { observation } = candidate;
  return (
    observation.target?.keyValues ?? observation.source?.keyValues ?? candidate.lookup?.targetKey
  );
}

/** A verdict with the sides it counts a row on. */
type Counted = Verdict & { readonly inSource: boolean; readonly inTarget: boolean };

/** A difference beyond the kept ones, as one line of the spill file. */
interface SpilledDifference {
  readonly key: string;
  readonly keyParts: readonly string[];
  readonly sourceKey: readonly string[] | null;
  readonly targetKey: string | null;
  readonly counted: {
    readonly status: KeyStatus;
    readonly inSource: boolean;
    readonly inTarget: boolean;
  };
}

function countedOf(verdict: Verdict, observation: Observation): Counted {
  return {
    ...verdict,
    inSource: observation.source?.kind === 'expected',
    inTarget: observation.target !== undefined,
  };
}

/** Missing, extra or different: what is kept, re-checked, repaired and sampled. */
export function isDifference(verdict: Verdict): boolean {
  return (
    verdict.status === 'missing' || verdict.status === 'extra' || verdict.status === 'different'
  );
}

/** Differing keys kept per mapping, at most: beyond it only the counts go on (memory stays bounded). */
const candidateLimit = 20_000;

/** A mapping's counts over every key, whichever direction it runs. */
export class KeyCounts {
  sourceRows = 0;
  targetRows = 0;
  matched = 0;
  missing = 0;
  extra = 0;
  different = 0;
  retained = 0;
  /** Differences not kept as candidates (beyond the kept ones). */
  overflow = 0;

  /**
   * Adds `keys` keys (negative: takes them back) with one verdict and the sides it counts a row
   * on.
   */
  protected count(status: KeyStatus, inSource: boolean, inTarget: boolean, keys: number): void {
    if (inSource) this.sourceRows += keys;
    if (inTarget) this.targetRows += keys;
    // Each counted status has a count of the same name.
    if (status !== 'none') this[status] += keys;
  }
}

/**
 * The counts and kept differences of one mapping. Counts always cover every key; candidates
 * (differences kept whole) stop at `candidateLimit`. With `spillOverflow` (a live replicator:
 * every difference must be re-checked), the differences beyond it go to a file on disk and are
 * read back in batches of at most `candidateLimit` (see `spilledBatches`).
 */
export class MappingTally extends KeyCounts {
  readonly model: RowModel;
  candidates: Candidate[] = [];
  /** Keep the differences beyond the kept ones on disk, for re-checking. */
  spillOverflow = false;
  private readonly spill = new SpillFile<SpilledDifference>();

  constructor(model: RowModel) {
    super();
    this.model = model;
  }

  /** Records the verdict on one key; returns it. Differences are kept as candidates while there is room. */
  record(
    source: SourceImage | undefined,
    target: ActualRow | undefined,
    key: string,
    keyParts: readonly string[],
  ): Verdict {
    const verdict = judgeSides(this.model, source, target);
    if (verdict.status === 'matched') {
      this.sourceRows++;
      this.targetRows++;
      this.matched++;
      return verdict;
    }
    const observation: Observation = { source, target };
    const counted = countedOf(verdict, observation);
    this.add(counted, 1);
    if (isDifference(verdict)) {
      if (this.candidates.length < candidateLimit) {
        this.candidates.push({ key, keyParts, observation, verdict, counted });
      } else {
        this.overflow++;
        if (this.spillOverflow)
          this.spill.push(spilled(this.model, key, keyParts, counted, observation));
      }
    }
    return verdict;
  }

  /** Many matched rows at once (a chunk whose digests agree). */
  recordMatched(count: number): void {
    this.sourceRows += count;
    this.targetRows += count;
    this.matched += count;
  }

  /** Moves a candidate's contribution to what a newer read of both sides says. */
  revise(candidate: Candidate, observation: Observation): Verdict {
    const verdict = judgeSides(this.model, observation.source, observation.target);
    this.add(candidate.counted, -1);
    const counted = countedOf(verdict, observation);
    this.add(counted, 1);
    candidate.observation = observation;
    candidate.verdict = verdict;
    candidate.counted = counted;
    return verdict;
  }

  private add(counted: Counted, sign: 1 | -1): void {
    this.count(counted.status, counted.inSource, counted.inTarget, sign);
  }

  /** Differences on disk, not yet read back. */
  get spilled(): number {
    return this.spill.count;
  }

  /**
   * The spilled differences as candidates, `candidateLimit` at a time. Once the caller has
   * re-checked a batch (revising each candidate), the next read adopts what still differs as a
   * kept candidate while there is room (for samples and repair); `overflow` then counts only
   * the differences re-checked but not kept. The file is removed at the end.
   */
  async *spilledBatches(): AsyncGenerator<Candidate[]> {
    if (this.spill.count === 0) return;
    this.overflow = 0;
    try {
      for await (const lines of this.spill.batches(candidateLimit)) {
        const batch = lines.map(restored);
        yield batch;
        this.adopt(batch);
      }
    } finally {
      this.spill.dispose();
    }
  }

  /** Removes the spill file, if any. */
  dispose(): void {
    this.spill.dispose();
  }

  private adopt(batch: readonly Candidate[]): void {
    this.candidates = this.candidates.filter((candidate) => isDifference(candidate.verdict));
    for (const candidate of batch) {
      if (!isDifference(candidate.verdict)) continue;
      if (this.candidates.length < candidateLimit) this.candidates.push(candidate);
      else this.overflow++;
    }
  }

  /** Kept differences that still differ, in the order found (key order per pass). */
  differences(): readonly Candidate[] {
    return this.candidates.filter((candidate) => isDifference(candidate.verdict));
  }

  /** The JSON report's per-mapping object (but how it was compared), at most `samples` keys per kind. */
  report(samples: number): Omit<MappingReport, 'strategy'> {
    const differences = this.differences().map(({ keyParts, verdict }) => ({
      status: verdict.status,
      key: this.model.keyRecord(keyParts),
      columns: verdict.columns,
    }));
    return sampledReport(this.model.mapping, this, differences, samples);
  }
}

function spilled(
  model: RowModel,
  key: string,
  keyParts: readonly string[],
  counted: Counted,
  observation: Observation,
): SpilledDifference {
  const { source, target } = observation;
  const targetKey = target?.keyValues ?? source?.keyValues;
  return {
    key,
    keyParts,
    sourceKey:
      source === undefined
        ? null
        : model.mapping.sourceKeyColumns.map((column) => String(source.row[column])),
    targetKey: targetKey === undefined ? null : encodeTargetKey(targetKey as TargetValue[]),
    counted: { status: counted.status, inSource: counted.inSource, inTarget: counted.inTarget },
  };
}

/** A spilled difference as a candidate whose sides are to be read again. */
function restored(line: SpilledDifference): Candidate {
  const verdict: Verdict = { status: line.counted.status };
  return {
    key: line.key,
    keyParts: line.keyParts,
    observation: { source: undefined, target: undefined },
    verdict,
    counted: { ...line.counted },
    lookup: {
      sourceKey: line.sourceKey ?? undefined,
      targetKey: line.targetKey === null ? undefined : decodeTargetKey(line.targetKey),
    },
  };
}
