import {
  type CellDifference,
  type KeyRecord,
  type MappingReport,
  sampledReport,
} from '../audit-report.js';
import { KeyCounts, type KeyStatus } from '../tally.js';
import { resultLayout } from './compare-statement.js';
import type { CrmAuditModel } from './crm-audit-model.js';

/** What the comparison concluded about one key (see tally.ts for the forward meanings). */
export type CrmStatus = KeyStatus;

/** One key as a comparison row describes it. */
export interface CrmVerdict {
  readonly status: CrmStatus;
  /** The CRM key's text forms, in key order. */
  readonly keyParts: readonly string[];
  /** The MES key's text forms, when the MES has the row. */
  readonly sourceKey: readonly (string | null)[] | undefined;
  readonly columns: Record<string, CellDifference> | undefined;
  /** Both sides as read, to tell whether either moved between two reads. */
  readonly signature: string;
}

/** A differing key kept for re-checking, repair and samples. */
export interface CrmCandidate {
  readonly id: string;
  verdict: CrmVerdict;
}

const inSource = new Set<CrmStatus>(['matched', 'missing', 'different']);
const inTarget = new Set<CrmStatus>(['matched', 'different', 'extra', 'retained']);

export function isCrmDifference(status: CrmStatus): boolean {
  return status === 'missing' || status === 'extra' || status === 'different';
}

/** Parses a row of compareStatement. */
export function verdictOf(model: CrmAuditModel, row: readonly unknown[]): CrmVerdict {
  const text = (value: unknown) => (value === null || value === undefined ? null : String(value));
  const keyCount = model.keyColumns.length;
  const keyParts = row.slice(resultLayout.keys, resultLayout.keys + keyCount).map(String);
  const sourceKey = text(row[resultLayout.sourceKey]);
  const errorColumn = text(row[resultLayout.errorColumn]);
  const status = String(row[resultLayout.status]) as CrmStatus;
  const base = resultLayout.keys + keyCount;
  let columns: Record<string, CellDifference> | undefined;
  if (errorColumn !== null) {
    // A value the stream would not write: the reason, beside what the CRM holds there.
    const index = model.compareColumns.indexOf(errorColumn);
    columns = {
      [errorColumn]: {
        source: `(${String(row[resultLayout.error])})`,
        target: index === -1 ? null : text(row[base + index * 3 + 2]),
      },
    };
  } else {
    model.compareColumns.forEach((column, index) => {
      const at = base + index * 3;
      if (row[at] !== 't' && row[at] !== true) return;
      columns ??= {};
      columns[column] = { source: text(row[at + 1]), target: text(row[at + 2]) };
    });
  }
  return {
    status,
    keyParts,
    sourceKey: sourceKey === null ? undefined : (JSON.parse(sourceKey) as (string | null)[]),
    columns: status === 'different' ? columns : undefined,
    signature: JSON.stringify(row),
  };
}

/** Differing keys kept per mapping, at most: beyond it only the counts go on. */
const candidateLimit = 20_000;

/** The counts and kept differences of one to-crm mapping. */
export class CrmTally extends KeyCounts {
  readonly candidates: CrmCandidate[] = [];

  constructor(readonly model: CrmAuditModel) {
    super();
  }

  /**
   * One comparison: `expected` rows loaded from the MES, and the rows the comparison returned
   * (every key not matched). The expected rows not returned matched.
   */
  recordPass(expected: number, verdicts: readonly CrmVerdict[]): void {
    let unmatched = 0;
    for (const verdict of verdicts) {
      if (inSource.has(verdict.status)) unmatched++;
      this.add(verdict.status, 1);
      if (!isCrmDifference(verdict.status)) continue;
      if (this.candidates.length < candidateLimit) {
        this.candidates.push({ id: JSON.stringify(verdict.keyParts), verdict });
      } else {
        this.overflow++;
      }
    }
    const matched = Math.max(0, expected - unmatched);
    this.sourceRows += matched;
    this.targetRows += matched;
    this.matched += matched;
  }

  /** Differences that can still be kept. */
  room(): number {
    return Math.max(0, candidateLimit - this.candidates.length);
  }

  /**
   * One comparison given as counts per status, with the first of its differing rows: those are
   * kept, the other differences only counted.
   */
  recordCounted(counts: ReadonlyMap<CrmStatus, number>, verdicts: readonly CrmVerdict[]): void {
    let differences = 0;
    for (const [status, count] of counts) {
      this.count(status, inSource.has(status), inTarget.has(status), count);
      if (isCrmDifference(status)) differences += count;
    }
    let kept = 0;
    for (const verdict of verdicts) {
      if (!isCrmDifference(verdict.status) || this.candidates.length >= candidateLimit) continue;
      this.candidates.push({ id: JSON.stringify(verdict.keyParts), verdict });
      kept++;
    }
    this.overflow += differences - kept;
  }

  /** Moves a candidate's contribution to what a newer read of both sides says. */
  revise(candidate: CrmCandidate, verdict: CrmVerdict): void {
    this.add(candidate.verdict.status, -1);
    this.add(verdict.status, 1);
    candidate.verdict = verdict;
  }

  private add(status: CrmStatus, sign: 1 | -1): void {
    this.count(status, inSource.has(status), inTarget.has(status), sign);
  }

  /** Kept differences that still differ. */
  differences(): CrmCandidate[] {
    return this.candidates.filter((candidate) => isCrmDifference(candidate.verdict.status));
  }

  /** The JSON report's per-mapping object (but how it was compared), at most `samples` keys per kind. */
  report(samples: number): Omit<MappingReport, 'strategy'> {
    const differences = this.differences().map(({ verdict }) => {
      const key: KeyRecord = {};
      this.model.keyColumns.forEach((column, index) => {
        key[column] = verdict.keyParts[index] ?? null;
      });
      return { status: verdict.status, key, columns: verdict.columns };
    });
    return sampledReport(this.model.mapping, this, differences, samples);
  }
}
