import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Logger } from '../log/logger.js';
import { compileMappings } from '../mapping/compile-mappings.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { loadMappings } from '../mapping/load-mappings.js';
import { mappedTables } from '../mapping/mapping-index.js';
import { formatProblem } from '../mapping/mapping-problem.js';
import { introspectTarget } from '../mysql/introspect.js';
import { connectTarget } from '../mysql/mysql-client.js';
import { introspectSource } from '../postgres/introspect.js';
import { connectSource } from '../postgres/pg-client.js';

/**
 * The mappings of `config.mappingsDir`, compiled against both live schemas: what `run`,
 * `backfill` and `audit` execute. Refuses (exit 2) whatever `mappings check` would refuse;
 * warnings are logged.
 */
export async function compileLiveMappings(
  config: ResolvedConfig,
  logger: Logger,
): Promise<readonly CompiledMapping[]> {
  const specs = loadMappings(config.mappingsDir);
  const tables = mappedTables(specs);
  const source = await connectSource({
    url: config.sourceUrl,
    timeoutMs: config.connectTimeoutMs,
    logger,
  });
  try {
    const target = await connectTarget({
      url: config.targetUrl,
      timeoutMs: config.connectTimeoutMs,
      logger,
    });
    try {
      const schemas = {
        source: await introspectSource(source, tables.source),
        target: await introspectTarget(target, tables.target),
      };
      return compileMappings(specs, schemas, {
        onWarning: (problem) => logger.warn({ mapping: problem.mapping }, formatProblem(problem)),
      });
    } finally {
      await target.end().catch(() => undefined);
    }
  } finally {
    await source.end().catch(() => undefined);
  }
}
