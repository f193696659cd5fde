import type { Logger } from '../../log/logger.js';
import { readMesKeys } from '../../mysql/mes-rows.js';
import { emptySummary, type RecheckSummary } from '../recheck.js';
import { type ReplicationProbe, waitForPosition } from '../settle.js';
import { type CrmSides, compareScope } from './compare-crm-mapping.js';
import type { CrmAuditModel } from './crm-audit-model.js';
import { type CrmImage, compileCrmImage } from './crm-images.js';
import { type CrmCandidate, type CrmTally, type CrmVerdict, isCrmDifference } from './crm-tally.js';
import { clearScratch, loadScratch } from './scratch-table.js';

/** A to-crm mapping's model and tally, as the re-check takes them. */
export interface CrmRecheckEntry {
  readonly model: CrmAuditModel;
  readonly tally: CrmTally;
}

interface CrmRecheckOptions {
  readonly sides: CrmSides;
  readonly logger: Logger;
  /** Wait for the return stream between reads (it runs); otherwise one plain re-read. */
  readonly probe?: ReplicationProbe;
  /** When waiting stops, ms since the epoch. */
  readonly deadline: number;
}

interface Pending {
  readonly candidate: CrmCandidate;
  /** Both sides at the last settled read that still showed a difference. */
  settledSignature?: string;
}

/** Step 1: the MES rows of the pending keys, read now and mapped into the session table. */
async function loadSources(
  sides: CrmSides,
  model: CrmAuditModel,
  pending: readonly Pending[],
): Promise<void> {
  await clearScratch(sides.crm, model);
  // An extra key has no MES row to name it: its CRM key's text is the MES key's (copied keys).
  const keys = pending.map(({ candidate }) =>
    (candidate.verdict.sourceKey ?? candidate.verdict.keyParts).map(String),
  );
  const rows = await readMesKeys(sides.mes, model.read, keys);
  const image = compileCrmImage(model);
  const images = rows.map(image).filter((row): row is CrmImage => row !== undefined);
  await loadScratch(sides.crm, model, images);
}

/** Step 3: the CRM rows of the pending keys compared with the loaded MES rows, by candidate. */
async function compareNow(
  sides: CrmSides,
  model: CrmAuditModel,
  pending: readonly Pending[],
): Promise<Map<string, CrmVerdict>> {
  const keys = pending.map(({ candidate }) => candidate.verdict.keyParts.map(String));
  const verdicts = await compareScope(
    sides.crm,
    model,
    { kind: 'keys', keys },
    { kind: 'everything' },
  );
  await clearScratch(sides.crm, model);
  return new Map(verdicts.map((verdict) => [JSON.stringify(verdict.keyParts), verdict]));
}

/** A key neither side has any more. */
function gone(candidate: CrmCandidate): CrmVerdict {
  const { keyParts, sourceKey } = candidate.verdict;
  return { status: 'none', keyParts, sourceKey, columns: undefined, signature: 'none' };
}

/**
 * Re-checks the kept differences of to-crm mappings, as recheck.ts does the forward ones.
 * Without a probe: one fresh read of both sides. With one (the return stream runs), in rounds:
 * read the MES rows of the pending keys, then the MES binlog end P; wait until the stream's
 * checkpoint has passed P; compare with the CRM rows now. A key whose difference reads the same
 * at two settled rounds is confirmed; one that agrees is resolved.
 */
export async function recheckCrm(
  entries: readonly CrmRecheckEntry[],
  options: CrmRecheckOptions,
): Promise<RecheckSummary> {
  const summary = emptySummary(options.probe !== undefined);
  let pending = new Map(
    entries.map((entry) => [
      entry,
      entry.tally.differences().map((candidate): Pending => ({ candidate })),
    ]),
  );
  while ([...pending.values()].some((items) => items.length > 0)) {
    summary.rounds++;
    for (const [entry, items] of pending) await loadSources(options.sides, entry.model, items);
    if (options.probe !== undefined) {
      const position = await options.probe.readPosition();
      const settled = await waitForPosition(
        options.probe,
        position,
        options.deadline,
        options.logger,
      );
      if (settled !== 'reached') {
        summary.settle = settled;
        for (const items of pending.values()) summary.unsettled += items.length;
        break;
      }
      summary.settle = 'reached';
    }
    pending = await reviseRound(options, pending, summary);
    const left = [...pending.values()].reduce((sum, items) => sum + items.length, 0);
    if (left > 0 && summary.rounds >= 2 && Date.now() >= options.deadline) {
      summary.settle = 'timeout';
      summary.unsettled += left;
      break;
    }
  }
  if (summary.rounds > 0) {
    const { resolved, confirmed, unsettled, rounds, settle } = summary;
    options.logger.info(
      { direction: 'to-crm', resolved, confirmed, unsettled, rounds, settle },
      're-checked differences',
    );
  }
  return summary;
}

/** Compares the pending keys now; returns those still to be confirmed. */
async function reviseRound(
  options: CrmRecheckOptions,
  pending: ReadonlyMap<CrmRecheckEntry, Pending[]>,
  summary: RecheckSummary,
): Promise<Map<CrmRecheckEntry, Pending[]>> {
  const next = new Map<CrmRecheckEntry, Pending[]>();
  for (const [entry, items] of pending) {
    const now = await compareNow(options.sides, entry.model, items);
    const still: Pending[] = [];
    for (const item of items) {
      const verdict = now.get(item.candidate.id) ?? gone(item.candidate);
      entry.tally.revise(item.candidate, verdict);
      if (!isCrmDifference(verdict.status)) summary.resolved++;
      else if (options.probe === undefined || item.settledSignature === verdict.signature) {
        summary.confirmed++;
      } else {
        item.settledSignature = verdict.signature;
        still.push(item);
      }
    }
    next.set(entry, still);
  }
  return next;
}
