import { stringify } from 'yaml';
import type { ScaffoldColumn, ScaffoldSource } from './scaffold-types.js';
import { scaffoldColumns } from './scaffold-types.js';
import type { SourceTable } from './tables.js';

/** What `mappings scaffold` writes for one CRM table: a mapping and a staging migration. */
export interface ScaffoldedTable {
  /** The mapping's name, also its file's name (`<name>.yaml`). */
  readonly name: string;
  /** `schema.table` of the source. */
  readonly source: string;
  readonly target: string;
  readonly key: readonly string[];
  readonly columns: readonly ScaffoldColumn[];
  readonly mappingYaml: string;
  readonly migrationJs: string;
  /** Things the user should know about the chosen types. */
  readonly notes: readonly string[];
}

/**
 * The key a mapping of `table` must use: the replica identity index when the table has one
 * (deletes carry only its columns), else the primary key. Undefined when there is neither, or
 * when the identity is NOTHING: such a table cannot be mapped without a decision of the user's.
 */
export function scaffoldKey(table: SourceTable): readonly string[] | undefined {
  if (table.replicaIdentity === 'n') return undefined;
  if (table.replicaIdentity === 'i' && table.identityColumns.length > 0)
    return table.identityColumns;
  return table.primaryKey.length > 0 ? table.primaryKey : undefined;
}

function mappingYaml(table: SourceTable, name: string, target: string, key: readonly string[]) {
  const columns = [...table.columns.keys()].filter((column) => !key.includes(column));
  const body = {
    name,
    source: `${table.schema}.${table.name}`,
    target,
    key: Object.fromEntries(key.map((column) => [column, column])),
    ...(columns.length > 0
      ? { columns: Object.fromEntries(columns.map((column) => [column, column])) }
      : {}),
  };
  return (
    `# Scaffolded by \`millrace mappings scaffold\` from ${body.source}: every column copied as is.\n` +
    '# Rename target columns, add filters, value maps or metadata columns as the MES needs.\n' +
    stringify(body, { lineWidth: 0 })
  );
}

/** One knex column-builder line. */
function columnLine(column: ScaffoldColumn): string {
  const name = JSON.stringify(column.name);
  const builder = `table.specificType(${name}, ${JSON.stringify(column.sqlType)})`;
  return `    ${builder}${column.notNull ? '.notNullable()' : '.nullable()'};`;
}

function migrationJs(
  source: string,
  target: string,
  key: readonly string[],
  columns: readonly ScaffoldColumn[],
) {
  const table = JSON.stringify(target);
  return `/**
 * Staging table for ${source}, scaffolded by \`millrace mappings scaffold\`: each column typed as
 * millrace converts its source type exactly, so \`millrace mappings check --strict\` passes.
 */

/** @param {import('knex').Knex} knex */
export async function up(knex) {
  await knex.schema.createTable(${table}, (table) => {
    table.charset('utf8mb4');
    table.collate('utf8mb4_bin');
    table.engine('InnoDB');
${columns.map(columnLine).join('\n')}
    table.primary(${JSON.stringify(key)});
  });
}

/** @param {import('knex').Knex} knex */
export async function down(knex) {
  await knex.schema.dropTableIfExists(${table});
}
`;
}

/**
 * The mapping and the staging migration for one introspected CRM table (a partitioned table's
 * root: the publication publishes its changes through it). `labels` holds each enum column's
 * labels. The key is the caller's scaffoldKey(table).
 */
export function scaffoldTable(
  table: SourceTable,
  options: {
    readonly prefix: string;
    readonly key: readonly string[];
    readonly labels: ReadonlyMap<string, readonly string[]>;
  },
): ScaffoldedTable {
  const name = table.schema === 'public' ? table.name : `${table.schema}_${table.name}`;
  const target = `${options.prefix}${table.name}`.slice(0, 64);
  const notes: string[] = [];
  const sources: ScaffoldSource[] = [...table.columns.values()].map((column) => {
    const labels = options.labels.get(column.name);
    return {
      name: column.name,
      type: column.type,
      notNull: column.notNull,
      ...(labels ? { labels } : {}),
    };
  });
  const columns = scaffoldColumns(sources, options.key, notes);
  const source = `${table.schema}.${table.name}`;
  return Object.freeze({
    name,
    source,
    target,
    key: options.key,
    columns,
    mappingYaml: mappingYaml(table, name, target, options.key),
    migrationJs: migrationJs(source, target, options.key, columns),
    notes,
  });
}
