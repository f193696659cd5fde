import type { Command } from 'commander';
import { redact } from '../../config/redact.js';
import { describeError } from '../../errors/millrace-error.js';
import { readMappings } from '../../mapping/load-mappings.js';
import { formatProblem } from '../../mapping/mapping-problem.js';
import type { MappingSpec } from '../../mapping/mapping-spec.js';
import { readTargetStatus } from '../../mysql/target-status.js';
import { readSourceStatus } from '../../postgres/slot-status.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource, holdTarget } from '../command-connections.js';
import { createContext } from '../context.js';
import { formatStatus } from '../format-status.js';
import { readReturnStatus } from '../return-status.js';
import { buildStatusReport } from '../status-report.js';

export async function executeStatus(options: { json?: boolean }, command: Command): Promise<void> {
  const context = createContext(command);
  const { config, print } = context;
  const warnings: string[] = [];
  const all = readSpecs(config.mappingsDir, warnings);
  const specs = all.filter((spec) => spec.direction === 'to-mes');
  const returning = all.filter((spec) => spec.direction === 'to-crm');
  const names = { slot: config.slot, publication: config.publication };
  await withReleasers(async (releasers) => {
    const pg = await holdSource(releasers, context, 'status');
    const source = await readSourceStatus(pg, names);
    const mysql = await holdTarget(releasers, context);
    const targets = [...new Set(specs.map((spec) => spec.target))];
    const target = await readTargetStatus(mysql, config.slot, targets);
    const returnPath =
      returning.length === 0 ? null : await readReturnStatus(pg, mysql, config.slot, returning);
    const report = buildStatusReport({
      source,
      target,
      specs,
      names,
      sourceUrl: redact(config.sourceUrl),
      targetUrl: redact(config.targetUrl),
      returnPath,
      warnings,
    });
    print(options.json === true ? JSON.stringify(report, null, 2) : formatStatus(report));
  });
}

/**
 * The valid mappings of both directions; a broken mappings directory becomes
 * a warning, since status is for diagnosis.
 */
function readSpecs(dir: string, warnings: string[]): readonly MappingSpec[] {
  try {
    const loaded = readMappings(dir);
    const errors = loaded.problems.filter((problem) => problem.level === 'error');
    if (errors.length > 0) {
      warnings.push(
        `${errors.length} mapping problem${errors.length > 1 ? 's' : ''}, first: ${formatProblem(errors[0]!)} (run millrace mappings check)`,
      );
    }
    return loaded.specs;
  } catch (error) {
    warnings.push(describeError(error));
    return [];
  }
}
