import { z } from 'zod';

/**
 * The audit's JSON report, as a zod schema: what `--format json` prints and
 * what `millrace_audit_runs.report` stores. Strict objects, so a field added by mistake fails the
 * tests instead of silently changing a contract scripts parse. Everything the other formats show
 * beyond this shape (read position, settling, onDelete: ignore history, repairs) lives in
 * AuditOutcome, not here.
 */

/** Key column → canonical value, e.g. `{ "crm_order_id": "17" }`. */
const keyRecordSchema = z.record(z.string(), z.string().nullable());
export type KeyRecord = z.infer<typeof keyRecordSchema>;

/** One differing cell: the canonical value the source implies and the one the target holds. */
const cellDifferenceSchema = z.strictObject({
  source: z.string().nullable(),
  target: z.string().nullable(),
});
export type CellDifference = z.infer<typeof cellDifferenceSchema>;

const differentSampleSchema = z.strictObject({
  key: keyRecordSchema,
  columns: z.record(z.string(), cellDifferenceSchema),
});
export type DifferentSample = z.infer<typeof differentSampleSchema>;

const count = z.number().int().nonnegative();

const mappingReportSchema = z.strictObject({
  name: z.string(),
  /** `schema.table` in the CRM. */
  source: z.string(),
  target: z.string(),
  /** Source rows that pass the mapping's filter. */
  sourceRows: count,
  /** Live target rows (soft-deleted rows count as absent). */
  targetRows: count,
  matched: count,
  missing: count,
  extra: count,
  different: count,
  samples: z.strictObject({
    missing: z.array(keyRecordSchema),
    extra: z.array(keyRecordSchema),
    different: z.array(differentSampleSchema),
  }),
  /**
   * How the mapping was compared: `digest` (both databases digest key ranges in SQL, only
   * differing ranges are read row by row), `rows` (every row read and compared here), or, for
   * to-crm mappings, `typed-join` (the mapped MES rows are loaded into the CRM and PostgreSQL
   * compares them with the target as typed values).
   */
  strategy: z.enum(['digest', 'rows', 'typed-join']),
  /** With `rows`: the first rule (or key, filter, column) SQL could not render, and why. */
  strategyReason: z.string().optional(),
  /**
   * `to-crm` for the return path's mappings (MES → CRM: `source` is the MES table, `target` the
   * CRM's). Absent for to-mes mappings, whose reports keep the shape they always had.
   */
  direction: z.literal('to-crm').optional(),
});
export type MappingReport = z.infer<typeof mappingReportSchema>;

export const auditReportSchema = z.strictObject({
  consistent: z.boolean(),
  startedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime(),
  mappings: z.array(mappingReportSchema),
});
export type AuditReport = z.infer<typeof auditReportSchema>;

/** Whether a mapping's counts say it is consistent. */
export function mappingConsistent(mapping: MappingReport): boolean {
  return mapping.missing === 0 && mapping.extra === 0 && mapping.different === 0;
}

/** A difference as the report samples it. */
interface SampledDifference {
  readonly status: string;
  readonly key: KeyRecord;
  readonly columns?: Record<string, CellDifference> | undefined;
}

/**
 * A mapping's report object (but how it was compared) from its counts and its kept differences
 * in the order found, at most `samples` keys per kind.
 */
export function sampledReport(
  mapping: { readonly name: string; readonly sourceKey: string; readonly target: string },
  counts: Pick<
    MappingReport,
    'sourceRows' | 'targetRows' | 'matched' | 'missing' | 'extra' | 'different'
  >,
  differences: Iterable<SampledDifference>,
  samples: number,
): Omit<MappingReport, 'strategy'> {
  const missing: KeyRecord[] = [];
  const extra: KeyRecord[] = [];
  const different: DifferentSample[] = [];
  for (const { status, key, columns } of differences) {
    if (status === 'missing' && missing.length < samples) missing.push(key);
    else if (status === 'extra' && extra.length < samples) extra.push(key);
    else if (status === 'different' && different.length < samples) {
      different.push({ key, columns: columns ?? {} });
    }
  }
  return {
    name: mapping.name,
    source: mapping.sourceKey,
    target: mapping.target,
    sourceRows: counts.sourceRows,
    targetRows: counts.targetRows,
    matched: counts.matched,
    missing: counts.missing,
    extra: counts.extra,
    different: counts.different,
    samples: { missing, extra, different },
  };
}
