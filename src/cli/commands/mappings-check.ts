import type { Command } from 'commander';
import { MappingError } from '../../errors/millrace-error.js';
import { checkMapping } from '../../mapping/check-mapping.js';
import { readMappings } from '../../mapping/load-mappings.js';
import { formatProblem, type MappingProblem } from '../../mapping/mapping-problem.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import { toCrmTypes } from '../../mapping/to-crm-types.js';
import { type CommandContext, createContext } from '../context.js';
import { readCrmSchemas, readLiveSchemas } from '../live-mappings.js';

interface CheckOptions {
  readonly strict?: boolean;
  readonly json?: boolean;
}

/** One mapping's verdict, as `--json` prints it. */
interface MappingVerdict {
  readonly name: string;
  readonly file: string;
  /** Null when the mapping did not load far enough to know. */
  readonly direction: MappingSpec['direction'] | null;
  readonly source: string | null;
  readonly target: string | null;
  /** Target columns a full write sets (key, columns, soft-delete, metadata). */
  readonly columns: number | null;
  readonly status: 'ok' | 'warning' | 'error';
  readonly problems: readonly ProblemJson[];
}

interface ProblemJson {
  readonly level: 'error' | 'warning';
  readonly code: string;
  readonly field: string | null;
  readonly line: number | null;
  readonly message: string;
  /** The one-line `file: mapping: field: problem` form. */
  readonly text: string;
}

interface CheckReport {
  readonly ok: boolean;
  readonly strict: boolean;
  readonly errors: number;
  readonly warnings: number;
  readonly mappings: readonly MappingVerdict[];
  /** Files that do not parse as YAML (their problems name no mapping). */
  readonly files: readonly { readonly file: string; readonly problems: readonly ProblemJson[] }[];
}

function problemJson(problem: MappingProblem): ProblemJson {
  return {
    level: problem.level,
    code: problem.code,
    field: problem.field ?? null,
    line: problem.line ?? null,
    message: problem.message,
    text: formatProblem(problem),
  };
}

function columnCount(spec: MappingSpec): number {
  return (
    spec.key.length +
    spec.columns.length +
    (spec.softDelete ? 1 + (spec.softDelete.at ? 1 : 0) : 0) +
    (spec.metadata?.lsn ? 1 : 0) +
    (spec.metadata?.syncedAt ? 1 : 0)
  );
}

/** Problems of mappings that did not load, grouped by mapping, and of files that did not parse. */
function groupUnloaded(problems: readonly MappingProblem[]) {
  const mappings = new Map<string, { file: string; name: string; problems: MappingProblem[] }>();
  const files = new Map<string, MappingProblem[]>();
  for (const problem of problems) {
    if (problem.mapping === undefined) {
      files.set(problem.file, [...(files.get(problem.file) ?? []), problem]);
      continue;
    }
    const id = `${problem.file}\u0000${problem.mapping}`;
    const entry = mappings.get(id) ?? { file: problem.file, name: problem.mapping, problems: [] };
    entry.problems.push(problem);
    mappings.set(id, entry);
  }
  return { mappings: [...mappings.values()], files };
}

function verdict(problems: readonly MappingProblem[]): MappingVerdict['status'] {
  return problems.some((problem) => problem.level === 'error')
    ? 'error'
    : problems.length > 0
      ? 'warning'
      : 'ok';
}

/** Each direction's mappings against its two live schemas (only read when it has mappings). */
async function checkSpecs(
  context: CommandContext,
  specs: readonly MappingSpec[],
): Promise<Map<MappingSpec, MappingProblem[]>> {
  const { config, logger } = context;
  const label = 'millrace mappings check';
  const toMes = specs.filter((spec) => spec.direction === 'to-mes');
  const toCrm = specs.filter((spec) => spec.direction === 'to-crm');
  const problems = new Map<MappingSpec, MappingProblem[]>();
  if (toMes.length > 0) {
    const schemas = await readLiveSchemas(config, logger, toMes, label);
    for (const spec of toMes) problems.set(spec, checkMapping(spec, schemas));
  }
  if (toCrm.length > 0) {
    const schemas = await readCrmSchemas(config, logger, toCrm, label);
    for (const spec of toCrm) problems.set(spec, checkMapping(spec, schemas, toCrmTypes));
  }
  return problems;
}

async function buildReport(context: CommandContext, strict: boolean): Promise<CheckReport> {
  const loaded = readMappings(context.config.mappingsDir);
  const checked = await checkSpecs(context, loaded.specs);
  const unloaded = groupUnloaded(loaded.problems);
  const mappings: MappingVerdict[] = [];
  for (const file of loaded.files) {
    for (const entry of unloaded.mappings) {
      if (entry.file !== file) continue;
      mappings.push({
        name: entry.name,
        file,
        direction: null,
        source: null,
        target: null,
        columns: null,
        status: 'error',
        problems: entry.problems.map(problemJson),
      });
    }
    for (const spec of loaded.specs) {
      if (spec.file !== file) continue;
      const problems = checked.get(spec)!;
      mappings.push({
        name: spec.name,
        file,
        direction: spec.direction,
        source: spec.sourceKey,
        target: spec.target,
        columns: columnCount(spec),
        status: verdict(problems),
        problems: problems.map(problemJson),
      });
    }
  }
  const all = [
    ...mappings.flatMap((mapping) => mapping.problems),
    ...[...unloaded.files.values()].flat().map(problemJson),
  ];
  const errors = all.filter((problem) => problem.level === 'error').length;
  const warnings = all.length - errors;
  return {
    ok: errors === 0 && (!strict || warnings === 0),
    strict,
    errors,
    warnings,
    mappings,
    files: [...unloaded.files].map(([file, problems]) => ({
      file,
      problems: problems.map(problemJson),
    })),
  };
}

const plural = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;

function renderText(report: CheckReport): string {
  const lines: string[] = [];
  for (const { file, problems } of report.files) {
    lines.push(`✗ ${file}: does not parse`);
    for (const problem of problems) lines.push(`    ${problem.level}: ${problem.text}`);
  }
  for (const mapping of report.mappings) {
    const failed = mapping.status === 'error' || (report.strict && mapping.status === 'warning');
    const route =
      mapping.source === null
        ? `(${mapping.file}: did not load)`
        : `${mapping.source} → ${mapping.target}${mapping.direction === 'to-crm' ? ' (to-crm)' : ''}`;
    const columns = mapping.columns === null ? '' : `, ${plural(mapping.columns, 'column')}`;
    const errors = mapping.problems.filter((problem) => problem.level === 'error').length;
    const warnings = mapping.problems.length - errors;
    const counts = [
      errors > 0 ? plural(errors, 'error') : '',
      warnings > 0 ? plural(warnings, 'warning') : '',
    ]
      .filter(Boolean)
      .join(', ');
    lines.push(
      `${failed ? '✗' : '✓'} ${mapping.name}: ${route}${columns}${counts ? ` (${counts})` : ''}`,
    );
    for (const problem of mapping.problems) lines.push(`    ${problem.level}: ${problem.text}`);
  }
  const failedCount = report.mappings.filter(
    (mapping) => mapping.status === 'error' || (report.strict && mapping.status === 'warning'),
  ).length;
  lines.push(
    `${plural(report.mappings.length, 'mapping')} checked: ${report.mappings.length - failedCount} ok, ${failedCount} failed; ${plural(report.errors, 'error')}, ${plural(report.warnings, 'warning')}${report.strict ? ' (--strict: warnings fail)' : ''}`,
  );
  return lines.join('\n');
}

export async function executeMappingsCheck(options: CheckOptions, command: Command): Promise<void> {
  const context = createContext(command);
  const strict = options.strict === true;
  const report = await buildReport(context, strict);
  context.print(options.json ? JSON.stringify(report, null, 2) : renderText(report));
  if (!report.ok) {
    const reason =
      report.errors > 0
        ? plural(report.errors, 'error')
        : `${plural(report.warnings, 'warning')} (--strict)`;
    throw new MappingError(
      'MAPPINGS_CHECK_FAILED',
      `mappings check failed: ${reason}; fix the mappings or the schemas listed above`,
      {
        context: { errors: report.errors, warnings: report.warnings },
      },
    );
  }
}
