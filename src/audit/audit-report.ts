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
   * differing ranges are read row by row) or `rows` (every row read and compared here).
   */
  strategy: z.enum(['digest', 'rows']),
  /** With `rows`: the first rule (or key, filter, column) SQL could not render, and why. */
  strategyReason: z.string().optional(),
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
