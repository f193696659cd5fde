import type { Statement } from '../../mysql/sql/quote.js';

/** A DATETIME(6) literal in UTC from an ISO timestamp. */
function datetime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

/** Records one audit run with its JSON report in millrace_audit_runs. */
export function insertAuditRun(run: {
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly consistent: boolean;
  readonly readLsn: string | null;
  readonly report: string;
}): Statement {
  return {
    sql: 'INSERT INTO millrace_audit_runs (started_at, finished_at, consistent, read_lsn, report) VALUES (?, ?, ?, ?, ?)',
    values: [
      datetime(run.startedAt),
      datetime(run.finishedAt),
      run.consistent ? 1 : 0,
      run.readLsn,
      run.report,
    ],
  };
}
