import { applyMesRows } from '../../backfill/to-crm/apply-mes-rows.js';
import type { Logger } from '../../log/logger.js';
import type { MesKey } from '../../mysql/mes-rows.js';
import type { MysqlConnection } from '../../mysql/mysql-client.js';
import type { PgClient } from '../../postgres/pg-client.js';
import { emptyRepairSummary, type RepairStep, type RepairSummary } from '../repair.js';
import type { CrmCandidate } from './crm-tally.js';
import type { CrmRecheckEntry } from './recheck-crm.js';

interface CrmRepairOptions {
  /** A MES session with no transaction open (each re-read takes a consistent snapshot on it). */
  readonly mes: MysqlConnection;
  /** A CRM session of its own, for the writes (it carries the re-read's replication origin). */
  readonly crm: PgClient | undefined;
  readonly stream: string;
  /** Steps kept per mapping for the plan and report. */
  readonly samples: number;
  readonly logger: Logger;
}

/** MES keys per re-read: one snapshot and one CRM transaction each. */
const keysPerApply = 1_000;

/** What repairing a difference does, as the stream would: upsert what the MES has, remove the rest. */
function stepOf(entry: CrmRecheckEntry, candidate: CrmCandidate): RepairStep {
  const { mapping, keyColumns } = entry.model;
  const { status, keyParts } = candidate.verdict;
  const key = Object.fromEntries(keyColumns.map((column, index) => [column, keyParts[index]!]));
  const reason = status as RepairStep['reason'];
  if (status !== 'extra') return { action: 'upsert', reason, key };
  return { action: mapping.onDelete === 'soft' ? 'soft-delete' : 'delete', reason, key };
}

/** The plan for one mapping's kept differences. */
function plan(entry: CrmRecheckEntry, samples: number): RepairSummary {
  const summary = emptyRepairSummary(entry.model.mapping.name);
  for (const candidate of entry.tally.differences()) {
    const step = stepOf(entry, candidate);
    if (step.reason === 'missing') summary.upsertedMissing++;
    else if (step.reason === 'different') summary.upsertedDifferent++;
    else if (step.action === 'soft-delete') summary.softDeleted++;
    else summary.deleted++;
    if (summary.steps.length < samples) summary.steps.push(step);
  }
  return summary;
}

/**
 * Repairs the differences of to-crm mappings through the return path's one re-read module
 * (apply-mes-rows.ts): the MES's current rows of the differing keys, read in a consistent
 * snapshot, mapped and written like the stream writes them, CRM rows the MES lacks removed per
 * onDelete, refused rows dead-lettered; a write the return stream has overtaken is read again, so
 * a repair never puts back an older value. A mapping with more differences than are kept is
 * re-applied whole, range by range. Without `crm` (--dry-run) only the plan is made.
 */
export async function repairCrm(
  entries: readonly CrmRecheckEntry[],
  options: CrmRepairOptions,
): Promise<RepairSummary[]> {
  const summaries: RepairSummary[] = [];
  for (const entry of entries) {
    if (entry.tally.differences().length === 0 && entry.tally.overflow === 0) continue;
    const summary = plan(entry, options.samples);
    summaries.push(summary);
    if (options.crm === undefined) continue;
    const apply = (selection: Parameters<typeof applyMesRows>[1]) =>
      applyMesRows(
        {
          mes: options.mes,
          crm: options.crm!,
          mapping: entry.model.mapping,
          stream: options.stream,
          onBadRow: 'deadletter',
          logger: options.logger,
        },
        selection,
      );
    const keys: MesKey[] = entry.tally
      .differences()
      .map(({ verdict }) => (verdict.sourceKey ?? verdict.keyParts).map(String));
    for (let start = 0; start < keys.length; start += keysPerApply) {
      const applied = await apply({ keys: keys.slice(start, start + keysPerApply) });
      summary.deadLetters += applied.deadLetters;
    }
    if (entry.tally.overflow > 0) {
      for (let after: MesKey | undefined, more = true; more; ) {
        const applied = await apply({
          range: { ...(after ? { after } : {}), limit: 5_000 },
        });
        summary.deadLetters += applied.deadLetters;
        more = applied.rows.length >= 5_000;
        after = applied.lastKey;
      }
    }
    options.logger.info({ ...summary, steps: undefined }, 'to-crm mapping repaired');
  }
  return summaries;
}
