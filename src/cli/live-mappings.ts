import type { ResolvedConfig } from '../config/resolve-config.js';
import type { Logger } from '../log/logger.js';
import { compileMappings } from '../mapping/compile-mappings.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { loadMappings } from '../mapping/load-mappings.js';
import { mappedCrmTables, mappedTables } from '../mapping/mapping-index.js';
import { formatProblem, type MappingProblem } from '../mapping/mapping-problem.js';
import type { MappingSpec } from '../mapping/mapping-spec.js';
import { mesSourceTable, type Schemas, type SourceTable } from '../mapping/tables.js';
import { toCrmTypes } from '../mapping/to-crm-types.js';
import { introspectTarget } from '../mysql/introspect.js';
import { connectTarget, type MysqlConnection } from '../mysql/mysql-client.js';
import { introspectSource } from '../postgres/introspect.js';
import { introspectCrmTargets } from '../postgres/introspect-targets.js';
import { connectSource, type PgClient } from '../postgres/pg-client.js';
import type { CrmColumn, MesColumn } from '../values/column-types.js';

/** Runs `read` with a CRM and a MES connection, both closed before returning. */
async function withBoth<T>(
  config: ResolvedConfig,
  logger: Logger,
  applicationName: string | undefined,
  read: (pg: PgClient, mysql: MysqlConnection) => Promise<T>,
): Promise<T> {
  const timeoutMs = config.connectTimeoutMs;
  const pg = await connectSource({ url: config.sourceUrl, timeoutMs, logger, applicationName });
  try {
    const mysql = await connectTarget({ url: config.targetUrl, timeoutMs, logger });
    try {
      return await read(pg, mysql);
    } finally {
      await mysql.end().catch(() => undefined);
    }
  } finally {
    await pg.end().catch(() => undefined);
  }
}

/**
 * Both live schemas, for just the tables the to-mes mappings name. Connections are closed before
 * returning. `applicationName` labels the CRM session (pg_stat_activity) when given.
 */
export async function readLiveSchemas(
  config: ResolvedConfig,
  logger: Logger,
  specs: readonly MappingSpec[],
  applicationName?: string,
): Promise<Schemas> {
  const tables = mappedTables(specs);
  return withBoth(config, logger, applicationName, async (pg, mysql) => {
    const [source, target] = await Promise.all([
      introspectSource(pg, tables.source),
      introspectTarget(mysql, tables.target),
    ]);
    return { source, target };
  });
}

/**
 * Both live schemas the other way round, for the tables to-crm mappings name: MES tables as
 * sources (by bare name), CRM tables as targets (by `schema.table`).
 */
export async function readCrmSchemas(
  config: ResolvedConfig,
  logger: Logger,
  specs: readonly MappingSpec[],
  applicationName?: string,
): Promise<Schemas<MesColumn, CrmColumn>> {
  const tables = mappedCrmTables(specs);
  return withBoth(config, logger, applicationName, async (pg, mysql) => {
    const [mes, target] = await Promise.all([
      introspectTarget(mysql, tables.source),
      introspectCrmTargets(pg, tables.target),
    ]);
    const source = new Map<string, SourceTable<MesColumn>>();
    for (const [name, table] of mes) source.set(name, mesSourceTable(table));
    return { source, target };
  });
}

/**
 * The mappings of one direction of `config.mappingsDir`, compiled against both live schemas:
 * what `run`, `backfill` and `audit` execute. Refuses (exit 2) whatever `mappings check` would
 * refuse; warnings are logged.
 */
export async function compileLiveMappings(
  config: ResolvedConfig,
  logger: Logger,
  direction: MappingSpec['direction'] = 'to-mes',
): Promise<readonly CompiledMapping[]> {
  const specs = loadMappings(config.mappingsDir, direction);
  const onWarning = (problem: MappingProblem) =>
    logger.warn({ mapping: problem.mapping }, formatProblem(problem));
  if (direction === 'to-crm') {
    // Most installations have no return path: `run` must not connect twice more to find that out.
    if (specs.length === 0) return [];
    const schemas = await readCrmSchemas(config, logger, specs);
    return compileMappings(specs, schemas, { types: toCrmTypes, onWarning });
  }
  const schemas = await readLiveSchemas(config, logger, specs);
  return compileMappings(specs, schemas, { onWarning });
}
