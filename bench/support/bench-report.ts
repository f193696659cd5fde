import type { ScenarioResult } from './scenario.js';

interface Report {
  readonly startedAt: string;
  readonly command: string;
  readonly options: { readonly runs: number; readonly scale: number };
  readonly machine: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryGb: number;
    readonly node: string;
    readonly commit?: string;
    readonly postgres: string;
    readonly mysql: string;
    readonly loadAverageAtStart: readonly number[];
    readonly loadAverageAtEnd: readonly number[];
  };
  readonly results: readonly ScenarioResult[];
}

const number = (value: unknown) =>
  typeof value === 'number' && Number.isFinite(value)
    ? value.toLocaleString('en')
    : String(value ?? '–');

/** The scenario's headline figures, one table row each. */
function figures(result: ScenarioResult): string {
  const m = result.median;
  switch (result.scenario) {
    case 'catchup-rows':
    case 'catchup-txn':
      return (
        `${number(m.changesPerSecond)} changes/s (${number(m.millraceSeconds)} s, of which start-up ${number(m.millraceStartupSeconds)} s); ` +
        `raw ${number(m.decodeSeconds)} s pg_recvlogical + ${number(m.loadSeconds)} s client load of ${number(m.finalRows)} rows; ` +
        `ratio **${number(m.ratio)}**` +
        (m.decodeRatio === undefined
          ? ''
          : `, **${number(m.decodeRatio)}** to pg_recvlogical alone`)
      );
    case 'return-catchup':
      return (
        `${number(m.changesPerSecond)} changes/s (${number(m.millraceSeconds)} s, of which start-up ${number(m.millraceStartupSeconds)} s); ` +
        `raw binlog decode ${number(m.decodeSeconds)} s (${number(m.decodeChangesPerSecond)} changes/s); ratio **${number(m.ratio)}**`
      );
    case 'steady':
    case 'return-steady':
      return (
        `p50 ${number(m.p50Ms)} ms, p95 ${number(m.p95Ms)} ms, **p99 ${number(m.p99Ms)} ms**, max ${number(m.maxMs)} ms ` +
        `at ${number(m.achievedRate)} changes/s (${number(m.samples)} samples per run)`
      );
    case 'backfill':
      return (
        `${number(m.rowsPerSecond)} rows/s (${number(m.millraceSeconds)} s); raw COPY | LOAD DATA ${number(m.rawSeconds)} s ` +
        `(${number(m.rawRowsPerSecond)} rows/s); ratio **${number(m.ratio)}**`
      );
    case 'audit':
      return (
        `consistent: **${number(m.consistentRowsPerSecond)} rows/s per side** (${number(m.consistentSeconds)} s); ` +
        `1% differing: **${number(m.differingRowsPerSecond)} rows/s per side** (${number(m.differingSeconds)} s)`
      );
    default:
      return JSON.stringify(m);
  }
}

/** A table cell: pipes inside (`COPY | LOAD DATA`) would split it. */
const cell = (text: string) => text.replace(/\|/g, '\\|');

/** A Markdown summary of one bench run (the BENCHMARKS.md tables are made from it). */
export function renderMarkdown(report: Report): string {
  const lines: string[] = [];
  const machine = report.machine;
  lines.push(`### Run of ${report.startedAt}`);
  lines.push('');
  lines.push(
    `\`${report.command}\`: medians of ${report.options.runs} runs, scale ${report.options.scale}.`,
  );
  lines.push(
    `Machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memoryGb} GB; node ${machine.node}; ` +
      `millrace ${machine.commit ?? 'at an unknown commit'}; ` +
      `${machine.postgres.split(' on ')[0]}; MariaDB/MySQL ${machine.mysql}; load average ${machine.loadAverageAtStart.join(' ')} at start, ${machine.loadAverageAtEnd.join(' ')} at end.`,
  );
  lines.push('');
  lines.push('| scenario | workload | median figures | peak RSS |');
  lines.push('| --- | --- | --- | --- |');
  for (const result of report.results) {
    const rss = result.median.peakRssMb;
    const body =
      result.status === 'ok'
        ? figures(result)
        : `${result.status}: ${(result.reason ?? '').split('\n')[0]}`;
    lines.push(
      `| ${result.scenario} | ${cell(result.description || '–')} | ${cell(body)} | ${rss === undefined ? '–' : `${number(rss)} MB`} |`,
    );
  }
  lines.push('');
  lines.push('| target | value | met |');
  lines.push('| --- | --- | --- |');
  for (const result of report.results) {
    for (const check of result.targets) {
      lines.push(
        `| ${cell(`${result.scenario}: ${check.name} ${check.target}`)} | ${number(check.value)} ${check.unit} | ${check.met ? 'yes' : '**no**'} |`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
