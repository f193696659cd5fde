import type { Logger } from '../log/logger.js';
import { compileMappings } from '../mapping/compile-mappings.js';
import type { CompiledMapping } from '../mapping/compiled-mapping.js';
import { mappedTables } from '../mapping/mapping-index.js';
import { formatProblem } from '../mapping/mapping-problem.js';
import type { MappingSpec } from '../mapping/mapping-spec.js';
import type { Schemas } from '../mapping/tables.js';
import { introspectTarget } from '../mysql/introspect.js';
import type { MysqlConnection } from '../mysql/mysql-client.js';
import { introspectSource } from '../postgres/introspect.js';
import type { PgClient } from '../postgres/pg-client.js';
import type { PgSession } from '../values/pg-canonical-sql.js';
import { describeSource, type SourceFamily } from '../values/source-spec.js';
import { buildChunkHasher, type ChunkHasher } from './chunk-hash.js';
import { type DigestPlan, planDigest } from './digest-plan.js';
import { chooseStrategy, type KeyStrategy } from './key-plan.js';
import { buildRowModel, type RowModel } from './row-model.js';
import { selectColumnTypes } from './sql/key-types.js';
import { MappingTally } from './tally.js';

/** One mapping with everything the passes need, prepared once. */
export interface PreparedMapping {
  readonly model: RowModel;
  readonly strategy: KeyStrategy;
  readonly hasher: ChunkHasher | undefined;
  /** For the `digest` strategy: both databases digest key buckets (undefined: compared by rows). */
  readonly digest: DigestPlan | undefined;
  /** Why the mapping is compared by rows, when it is. */
  readonly rowsReason: string | undefined;
  /** How the last full pass compared it. */
  comparedBy: 'digest' | 'rows';
  /** Declared SQL types of the source key columns, for lookups by key. */
  readonly keyTypes: readonly string[];
  readonly keyFamilies: readonly SourceFamily[];
  /** Replaced when a repaired mapping is compared again in full. */
  tally: MappingTally;
}

/**
 * Checks the selected to-mes mappings against both schemas, compiles them, and prepares each for
 * comparison.
 */
export async function prepareMappings(
  specs: readonly MappingSpec[],
  options: {
    readonly hashing?: boolean;
    readonly logger: Logger;
  },
  source: PgClient,
  target: MysqlConnection,
): Promise<PreparedMapping[]> {
  const tables = mappedTables(specs);
  // Each side's round trips go one after the other (a client runs one query at a time), both
  // sides at once.
  const [[sourceSchema, settings], targetSchema] = await Promise.all([
    introspectSource(source, tables.source).then(
      async (schema) => [schema, await sourceSettings(source)] as const,
    ),
    introspectTarget(target, tables.target),
  ]);
  const schemas: Schemas = { source: sourceSchema, target: targetSchema };
  const compiled = compileMappings(specs, schemas, {
    onWarning: (problem) =>
      options.logger.warn({ mapping: problem.mapping }, formatProblem(problem)),
  });
  const session: PgSession = {
    isoDateStyle: /^ISO\b/.test(settings.date_style),
    utcZone: ['UTC', 'Etc/UTC'].includes(settings.time_zone),
  };
  const noDigest =
    options.hashing === false
      ? 'digests are turned off'
      : settings.encoding === 'UTF8'
        ? undefined
        : 'the CRM database is not encoded in UTF8';
  const prepared: PreparedMapping[] = [];
  for (const mapping of compiled) {
    const spec = specs.find((candidate) => candidate.name === mapping.name)!;
    prepared.push(
      await prepareMapping(mapping, spec, schemas, source, {
        hashing: options.hashing !== false,
        noDigest,
        session,
      }),
    );
  }
  return prepared;
}

interface SourceSettings {
  readonly encoding: string;
  readonly date_style: string;
  readonly time_zone: string;
}

/**
 * What the digest renderings depend on. md5() hashes the database encoding's bytes, MD5() on the
 * MES utf8mb4's: they agree in UTF8.
 */
async function sourceSettings(source: PgClient): Promise<SourceSettings> {
  const { rows } = await source.query<SourceSettings>(
    `SELECT current_setting('server_encoding') AS encoding,
            current_setting('DateStyle') AS date_style, current_setting('TimeZone') AS time_zone`,
  );
  return rows[0]!;
}

async function prepareMapping(
  mapping: CompiledMapping,
  spec: MappingSpec,
  schemas: Schemas,
  source: PgClient,
  options: {
    readonly hashing: boolean;
    readonly noDigest: string | undefined;
    readonly session: PgSession;
  },
): Promise<PreparedMapping> {
  const { hashing } = options;
  const sourceTable = schemas.source.get(mapping.sourceKey)!;
  const targetTable = schemas.target.get(mapping.target)!;
  const model = buildRowModel(mapping, sourceTable, targetTable);
  const sourceKey = mapping.sourceKeyColumns.map((column) => sourceTable.columns.get(column)!);
  const strategy = chooseStrategy(sourceKey, model.keyTargetColumns);
  const hasher = strategy === 'range' && hashing ? buildChunkHasher(model) : undefined;
  const typeStatement = selectColumnTypes(mapping.source, mapping.sourceKeyColumns);
  const typeRows = await source.query<{ name: string; type: string }>(typeStatement.text, [
    ...typeStatement.values,
  ]);
  const typeOf = new Map(typeRows.rows.map((row) => [row.name, row.type] as const));
  const choice: { plan?: DigestPlan | undefined; reason?: string | undefined } =
    options.noDigest !== undefined
      ? { reason: options.noDigest }
      : planDigest(model, spec, options.session);
  return {
    model,
    strategy,
    hasher,
    digest: choice.plan,
    rowsReason: choice.reason,
    comparedBy: choice.plan === undefined ? 'rows' : 'digest',
    keyTypes: mapping.sourceKeyColumns.map((column) => typeOf.get(column) ?? 'text'),
    keyFamilies: sourceKey.map((column) => describeSource(column.type).family),
    tally: new MappingTally(model),
  };
}
