import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Logger } from '../log/logger.js';
import { compileMappings } from '../mapping/compile-mappings.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { loadMappings } from '../mapping/load-mappings.js';
import { mappedTables } from '../mapping/mapping-index.js';
import { formatProblem } from '../mapping/mapping-problem.js';
import type { MappingSpec } from '../mapping/mapping-spec.js';
import type { Schemas } from '../mapping/tables.js';
import { introspectTarget } from '../mysql/introspect.js';
import { connectTarget } from '../mysql/mysql-client.js';
import { introspectSource } from '../postgres/introspect.js';
import { connectSource } from '../postgres/pg-client.js';

/**
 * Both live schemas, for just the tables the mappings name. Connections are closed before
 * returning. `applicationName` labels the CRM session (pg_stat_activity) when given.
 */
export async function readLiveSchemas(
  config: ResolvedConfig,
  logger: Logger,
  specs: readonly MappingSpec[],
  applicationName?: string,
): Promise<Schemas> {
  const tables = mappedTables(specs);
  const timeoutMs = config.connectTimeoutMs;
  const pg = await connectSource({ url: config.sourceUrl, timeoutMs, logger, applicationName });
  try {
    const mysql = await connectTarget({ url: config.targetUrl, timeoutMs, logger });
    try {
      const [source, target] = await Promise.all([
        introspectSource(pg, tables.source),
        introspectTarget(mysql, tables.target),
      ]);
      return { source, target };
    } finally {
      await mysql.end().catch(() => undefined);
    }
  } finally {
    await pg.end().catch(() => undefined);
  }
}

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
  const schemas = await readLiveSchemas(config, logger, specs);
  return compileMappings(specs, schemas, {
    onWarning: (problem) => logger.warn({ mapping: problem.mapping }, formatProblem(problem)),
  });
}
