import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import {
  bulkInsertSql,
  rawTable,
  sourceDdl,
  targetDdl,
  targetTable,
} from '../support/bench-schema.js';
import { summariseProfiles } from '../support/cpu-profile.js';
import { millraceEnv, startMillrace } from '../support/millrace-cli.js';
import { copyIntoLoadData } from '../support/raw-tools.js';
import { mb, type ScenarioContext, type ScenarioResult } from '../support/scenario.js';
import { settleServers } from '../support/settle-servers.js';
import { median, round } from '../support/stats.js';

interface AuditJson {
  readonly consistent: boolean;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly mappings: readonly {
    readonly strategy: string;
    readonly sourceRows: number;
    readonly targetRows: number;
    readonly matched: number;
    readonly missing: number;
    readonly extra: number;
    readonly different: number;
  }[];
}

/**
 * Breaks 1% of the MES rows, as bench/audit.ts does: a third deleted (missing), a third with one
 * changed cell (different), a third added under new keys (extra). Returns the expected counts.
 */
async function breakOnePercent(context: ScenarioContext, rows: number) {
  const { mysql } = context.dbs;
  const [deleted] = await mysql.query(`delete from ${targetTable} where item_id % 300 = 1`);
  const [changed] = await mysql.query(
    `update ${targetTable} set qty = qty + 1 where item_id % 300 = 101`,
  );
  const [added] = await mysql.query(
    `insert into ${targetTable} (item_id, sku, name, qty, price, status, probe, updated_at)
     select item_id + ?, sku, name, qty, price, status, probe, updated_at from ${targetTable} where item_id % 300 = 201`,
    [rows],
  );
  const affected = (result: unknown) => (result as { affectedRows: number }).affectedRows;
  return { missing: affected(deleted), different: affected(changed), extra: affected(added) };
}

/** The consistent pair: `rows` source rows, their mapped rows loaded with LOAD DATA. */
async function preparePair(context: ScenarioContext, rows: number): Promise<void> {
  const { dbs } = context;
  await dbs.pg.query('drop table if exists bench_item');
  await dbs.pg.query(sourceDdl);
  await dbs.pg.query(bulkInsertSql(1, rows));
  await dbs.pg.query('vacuum analyze bench_item');
  await dbs.mysql.query(`drop table if exists ${targetTable}, ${rawTable}`);
  await dbs.mysql.query(targetDdl(targetTable));
  // The first audit proves the loaded rows equal.
  await copyIntoLoadData(dbs, targetTable);
  await dbs.mysql.query(`analyze table ${targetTable}`);
}

/** One `millrace audit --format json`, checked for the exit code it should have. */
async function auditOnce(
  context: ScenarioContext,
  env: NodeJS.ProcessEnv,
  label: string,
  options: { profiled: boolean; expectConsistent: boolean },
) {
  const { cli, workDir } = context;
  const out = path.join(workDir, `audit-${label}.json`);
  const run = startMillrace(
    cli,
    ['audit', '--format', 'json', '--out', out, '--settle-timeout', '0'],
    env,
    options.profiled ? context.profileDir : undefined,
  );
  const exit = await run.exited;
  const wallSeconds = (performance.now() - run.startedAt) / 1000;
  const expectedCode = options.expectConsistent ? 0 : 1;
  if (exit.code !== expectedCode) {
    throw new Error(
      `millrace audit (${label}) exited ${exit.code}, expected ${expectedCode}\n${run.tail()}`,
    );
  }
  const report = JSON.parse(readFileSync(out, 'utf8')) as AuditJson;
  rmSync(out, { force: true });
  const mapping = report.mappings[0]!;
  const reportSeconds = (Date.parse(report.finishedAt) - Date.parse(report.startedAt)) / 1000;
  return {
    wallSeconds: round(wallSeconds),
    reportSeconds: round(reportSeconds),
    sourceRows: mapping.sourceRows,
    targetRows: mapping.targetRows,
    sourceRowsPerSecond: Math.round(mapping.sourceRows / wallSeconds),
    targetRowsPerSecond: Math.round(mapping.targetRows / wallSeconds),
    sourceRowsPerSecondInside: Math.round(mapping.sourceRows / reportSeconds),
    strategy: mapping.strategy,
    counts: {
      matched: mapping.matched,
      missing: mapping.missing,
      extra: mapping.extra,
      different: mapping.different,
    },
    peakRssMb: mb(run.peakRssBytes()),
  };
}

type AuditRun = Awaited<ReturnType<typeof auditOnce>>;
type Expected = Awaited<ReturnType<typeof breakOnePercent>>;

/** The runs on the pair with 1% differing, each checked to find exactly what was broken. */
async function auditDiffering(
  context: ScenarioContext,
  env: NodeJS.ProcessEnv,
  expected: Expected,
): Promise<AuditRun[]> {
  const differing: AuditRun[] = [];
  for (let index = 0; index < context.options.runs; index++) {
    const result = await auditOnce(context, env, `differing-${index}`, {
      profiled: false,
      expectConsistent: false,
    });
    const { missing, extra, different } = result.counts;
    if (
      missing !== expected.missing ||
      extra !== expected.extra ||
      different !== expected.different
    ) {
      throw new Error(
        `audit found ${JSON.stringify(result.counts)}, expected ${JSON.stringify(expected)}`,
      );
    }
    differing.push(result);
    context.say(
      `  1% differing run ${index + 1}: ${result.wallSeconds} s (report ${result.reportSeconds} s) = ` +
        `${result.sourceRowsPerSecond} rows/s source, ${result.targetRowsPerSecond} rows/s target; ` +
        `found ${missing} missing, ${extra} extra, ${different} different; peak RSS ${result.peakRssMb} MB`,
    );
  }
  return differing;
}

function auditMedians(consistent: readonly AuditRun[], differing: readonly AuditRun[]) {
  const med = (list: readonly AuditRun[], pick: (run: AuditRun) => number) =>
    median(list.map(pick));
  const perSide = (list: readonly AuditRun[]) =>
    Math.round(med(list, (run) => Math.min(run.sourceRowsPerSecond, run.targetRowsPerSecond)));
  return {
    consistentSeconds: round(med(consistent, (run) => run.wallSeconds)),
    consistentReportSeconds: round(med(consistent, (run) => run.reportSeconds)),
    consistentRowsPerSecond: perSide(consistent),
    differingSeconds: round(med(differing, (run) => run.wallSeconds)),
    differingReportSeconds: round(med(differing, (run) => run.reportSeconds)),
    differingRowsPerSecond: perSide(differing),
    peakRssMb: Math.max(
      med(consistent, (run) => run.peakRssMb),
      med(differing, (run) => run.peakRssMb),
    ),
  };
}

function auditTargets(summary: ReturnType<typeof auditMedians>): ScenarioResult['targets'] {
  return [
    {
      name: 'consistent pair, rows/s per side',
      target: '≥ 300,000',
      value: summary.consistentRowsPerSecond,
      unit: 'rows/s',
      met: summary.consistentRowsPerSecond >= 300_000,
    },
    {
      name: '1% differing, rows/s per side',
      target: '≥ 200,000',
      value: summary.differingRowsPerSecond,
      unit: 'rows/s',
      met: summary.differingRowsPerSecond >= 200_000,
    },
    {
      name: 'peak RSS',
      target: '< 256 MB',
      value: summary.peakRssMb,
      unit: 'MB',
      met: summary.peakRssMb < 256,
    },
  ];
}

/**
 * Audit throughput: `millrace audit --format json` on a consistent 1M-row pair, then on the same
 * pair with 1% of the rows differing; rows/s per side from the command's wall time (start-up
 * included) and from the report's own start and finish times, with the strategy the report
 * names (the bench mapping is compared by digests).
 */
export async function runAudit(context: ScenarioContext): Promise<ScenarioResult> {
  const { options, dbs, cli, say } = context;
  const rows = Math.max(1_000, Math.round(1_000_000 * options.scale));
  await preparePair(context, rows);
  say(`  servers settled in ${await settleServers(dbs)} s after the load`);
  const slot = dbs.uniqueName('m');
  const env = millraceEnv(dbs, cli, { slot, publication: slot });

  const consistent: AuditRun[] = [];
  for (let index = 0; index < options.runs; index++) {
    const result = await auditOnce(context, env, `consistent-${index}`, {
      profiled: false,
      expectConsistent: true,
    });
    consistent.push(result);
    say(
      `  consistent run ${index + 1}: ${result.wallSeconds} s (report ${result.reportSeconds} s) = ` +
        `${result.sourceRowsPerSecond} rows/s per side by ${result.strategy}; peak RSS ${result.peakRssMb} MB`,
    );
  }
  const expected = await breakOnePercent(context, rows);
  say(`  servers settled in ${await settleServers(dbs)} s after breaking 1%`);
  const differing = await auditDiffering(context, env, expected);
  let profile: unknown;
  if (options.cpuProf) {
    await auditOnce(context, env, 'profiled', { profiled: true, expectConsistent: false });
    profile = summariseProfiles(context.profileDir);
  }
  const summary = auditMedians(consistent, differing);
  return {
    scenario: 'audit',
    description: `${rows.toLocaleString('en')} rows per side (bench_item), consistent, then 1% differing (${expected.missing} missing, ${expected.extra} extra, ${expected.different} different)`,
    status: 'ok',
    parameters: { rows, runs: options.runs, expected },
    runs: [
      ...consistent.map((run, index) => ({ run: index + 1, pair: 'consistent', ...run })),
      ...differing.map((run, index) => ({ run: index + 1, pair: '1% differing', ...run })),
    ],
    median: summary,
    targets: auditTargets(summary),
    ...(profile ? { profile } : {}),
  };
}
