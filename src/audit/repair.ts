import { describeError, ValueError } from '../errors/millrace-error.js';
import type { Logger } from '../log/logger.js';
import type { ChangeMeta } from '../mapping/compiled-mapping.js';
import type { TargetWriter } from '../mysql/writer.js';
import type { TargetValue } from '../values/column-types.js';
import { TargetBatch } from '../writes/target-batch.js';
import type { Origin } from '../writes/write-chunk.js';
import type { KeyRecord } from './audit-report.js';
import type { ActualRow, RowModel, SourceImage } from './row-model.js';
import type { RepairChannel } from './stream-repair.js';
import type { Verdict } from './tally.js';

/** What repair does to one key: the source's truth, as the stream would have written it. */
type RepairAction = 'upsert' | 'delete' | 'soft-delete' | 'skip';

export interface RepairStep {
  readonly action: RepairAction;
  /** The difference it repairs. */
  readonly reason: 'missing' | 'different' | 'extra';
  readonly key: KeyRecord;
  /** Why a key is skipped (its source value cannot be converted). */
  readonly note?: string;
}

/** Per mapping: how many keys each action touched, and the first steps. */
export interface RepairSummary {
  readonly mapping: string;
  upsertedMissing: number;
  upsertedDifferent: number;
  deleted: number;
  softDeleted: number;
  skipped: number;
  deadLetters: number;
  readonly steps: RepairStep[];
}

/** A mapping's summary before any key is repaired. */
export function emptyRepairSummary(mapping: string): RepairSummary {
  return {
    mapping,
    upsertedMissing: 0,
    upsertedDifferent: 0,
    deleted: 0,
    softDeleted: 0,
    skipped: 0,
    deadLetters: 0,
    steps: [],
  };
}

/** Writes per target transaction. */
const batchLimit = 2_000;
/** Keys per mapping and action logged one by one; past that only the totals. */
const loggedSteps = 100;

/**
 * Applies the source's truth for differing keys through the one writer (docs/architecture.md):
 * missing and different keys are upserted with the mapping's full projection, extra
 * keys deleted or soft-deleted as the stream would (onDelete: delete and ignore delete a row
 * that left the filter; soft flags it; a row kept by onDelete: ignore is never an extra). With
 * `dryRun` nothing is written: the steps make the plan. With a `channel` (a replicator is
 * running) the keys go to the replicator instead, which applies the same rules in-stream at a
 * position of its own, from the source row current there.
 */
export class Repairer {
  private readonly writer: TargetWriter | undefined;
  private readonly logger: Logger;
  private readonly samples: number;
  private readonly summaries = new Map<string, RepairSummary>();
  private batch = new TargetBatch();
  /** The mapping the queued writes belong to: one mapping per target transaction. */
  private batchMapping: string | undefined;
  private meta: ChangeMeta = { lsn: 0n, syncedAt: new Date() };
  private readonly channel: RepairChannel | undefined;
  /** The target keys queued for the channel. */
  private keys: (readonly TargetValue[])[] = [];

  constructor(options: {
    /** Undefined for a dry run, or when repairs go through `channel`. */
    readonly writer: TargetWriter | undefined;
    readonly channel?: RepairChannel;
    readonly logger: Logger;
    /** Steps kept per mapping for the plan and report. */
    readonly samples: number;
  }) {
    this.writer = options.writer;
    this.channel = options.channel;
    this.logger = options.logger;
    this.samples = options.samples;
  }

  get dryRun(): boolean {
    return this.writer === undefined && this.channel === undefined;
  }

  summaryOf(mapping: string): RepairSummary | undefined {
    return this.summaries.get(mapping);
  }

  all(): readonly RepairSummary[] {
    return [...this.summaries.values()];
  }

  /** Plans (and, unless dry, queues) the repair of one difference. */
  async add(
    model: RowModel,
    verdict: Verdict,
    source: SourceImage | undefined,
    target: ActualRow | undefined,
  ): Promise<void> {
    const { mapping } = model;
    const reason = verdict.status;
    if (reason !== 'missing' && reason !== 'different' && reason !== 'extra') return;
    if (this.batchMapping !== mapping.name) await this.flush();
    this.batchMapping = mapping.name;
    const summary = this.summaryFor(mapping.name);
    const keyParts = source?.keyParts ?? target?.keyParts ?? [];
    const key = model.keyRecord(keyParts);
    const origin: Origin = {
      mapping: mapping.name,
      lsn: null,
      operation: 'repair',
      sourceValues: source?.row ?? null,
    };
    let step: RepairStep;
    if (reason === 'extra') {
      const keyValues = targetKeyOf(source, target);
      if (mapping.onDelete === 'soft') {
        this.batch.update(mapping, keyValues, mapping.softDeleteRow(this.meta), origin);
        summary.softDeleted++;
        step = { action: 'soft-delete', reason, key };
      } else {
        this.batch.delete(mapping, keyValues, origin);
        summary.deleted++;
        step = { action: 'delete', reason, key };
      }
    } else if (source?.kind !== 'expected' || source.error !== undefined) {
      summary.skipped++;
      step = {
        action: 'skip',
        reason,
        key,
        note: source?.kind === 'expected' ? source.error?.message : 'no source row',
      };
    } else {
      try {
        this.batch.upsert(
          mapping,
          source.keyValues,
          mapping.project(source.row, this.meta),
          origin,
        );
        if (reason === 'missing') summary.upsertedMissing++;
        else summary.upsertedDifferent++;
        step = { action: 'upsert', reason, key };
      } catch (error) {
        if (!(error instanceof ValueError)) throw error;
        summary.skipped++;
        step = { action: 'skip', reason, key, note: describeError(error) };
      }
    }
    if (step.action !== 'skip') this.keys.push(targetKeyOf(source, target));
    if (summary.steps.length < this.samples) summary.steps.push(step);
    const touched =
      summary.upsertedMissing +
      summary.upsertedDifferent +
      summary.deleted +
      summary.softDeleted +
      summary.skipped;
    if (touched <= loggedSteps) {
      this.logger.info(
        {
          mapping: mapping.name,
          table: mapping.target,
          key,
          reason,
          action: step.action,
          note: step.note,
        },
        this.dryRun ? 'repair plan' : 'repair',
      );
    }
    if (this.batch.size >= batchLimit) await this.flush();
  }

  /** Writes what is queued in one target transaction. */
  async flush(): Promise<void> {
    if (this.batch.size === 0) return;
    const chunk = this.batch.take();
    const keys = this.keys;
    this.keys = [];
    const mapping = this.batchMapping;
    this.meta = { lsn: 0n, syncedAt: new Date() };
    if (this.channel !== undefined && mapping !== undefined) {
      const result = await this.channel(mapping, keys);
      this.summaries.get(mapping)!.deadLetters += result.deadLetters;
      return;
    }
    if (this.writer === undefined) return;
    try {
      const stats = await this.writer.apply(chunk);
      await this.writer.commit();
      const summary = mapping === undefined ? undefined : this.summaries.get(mapping);
      if (summary !== undefined) summary.deadLetters += stats.deadLetters;
    } catch (error) {
      await this.writer.rollback();
      throw error;
    }
  }

  /** Logs the totals per mapping. */
  logTotals(): void {
    for (const summary of this.summaries.values()) {
      this.logger.info(
        {
          mapping: summary.mapping,
          upsertedMissing: summary.upsertedMissing,
          upsertedDifferent: summary.upsertedDifferent,
          deleted: summary.deleted,
          softDeleted: summary.softDeleted,
          skipped: summary.skipped,
          deadLetters: summary.deadLetters,
        },
        this.dryRun ? 'repair plan (dry run: nothing written)' : 'repaired',
      );
    }
  }

  private summaryFor(mapping: string): RepairSummary {
    let summary = this.summaries.get(mapping);
    if (!summary) {
      summary = emptyRepairSummary(mapping);
      this.summaries.set(mapping, summary);
    }
    return summary;
  }
}

/** The key of the target row to repair, as written (from the source) or as read. */
function targetKeyOf(
  source: SourceImage | undefined,
  target: ActualRow | undefined,
): readonly TargetValue[] {
  return (target?.keyValues ?? source?.keyValues ?? []) as readonly TargetValue[];
}
