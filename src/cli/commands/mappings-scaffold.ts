import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { ConfigError } from '../../errors/millrace-error.js';
import { type ScaffoldedTable, scaffoldKey, scaffoldTable } from '../../mapping/scaffold-table.js';
import type { SourceTable } from '../../mapping/tables.js';
import { readEnumLabels } from '../../postgres/enum-labels.js';
import { introspectSource } from '../../postgres/introspect.js';
import type { PgClient } from '../../postgres/pg-client.js';
import type { TableName } from '../../postgres/table-name.js';
import { withReleasers } from '../../util/releasers.js';
import { holdSource } from '../command-connections.js';
import { createContext } from '../context.js';
import { parseSourceTable } from '../flags.js';

interface ScaffoldOptions {
  readonly prefix: string;
  readonly out?: string;
  readonly force?: boolean;
}

/** The introspected tables, partitions replaced by their root; a table not found is an error. */
async function readTables(client: PgClient, names: readonly TableName[]): Promise<SourceTable[]> {
  const found = await introspectSource(client, names);
  const roots: TableName[] = [];
  for (const name of names) {
    const table = found.get(`${name.schema}.${name.table}`);
    if (!table) {
      throw new ConfigError(
        'SOURCE_TABLE_MISSING',
        `no table ${name.schema}.${name.table} in the CRM database; name an existing table (or partitioned table) as schema.table`,
      );
    }
    const [schema, root] = (table.partitionOf ?? `${table.schema}.${table.name}`).split('.');
    roots.push({ schema: schema!, table: root! });
  }
  const unique = [...new Map(roots.map((name) => [`${name.schema}.${name.table}`, name])).values()];
  const tables = await introspectSource(client, unique);
  return unique.map((name) => tables.get(`${name.schema}.${name.table}`)!);
}

async function scaffoldAll(
  client: PgClient,
  tables: readonly SourceTable[],
  prefix: string,
): Promise<ScaffoldedTable[]> {
  const enumOids = tables.flatMap((table) =>
    [...table.columns.values()].filter((c) => c.type.category === 'E').map((c) => c.type.oid),
  );
  const labels = await readEnumLabels(client, [...new Set(enumOids)]);
  return tables.map((table) => {
    const key = scaffoldKey(table);
    if (!key) {
      throw new ConfigError(
        'REPLICA_IDENTITY',
        `${table.schema}.${table.name} has no primary key and no replica identity index, so no key to map it by; add a primary key (or ALTER TABLE … REPLICA IDENTITY USING INDEX a unique index) and scaffold again`,
      );
    }
    const columnLabels = new Map<string, readonly string[]>();
    for (const column of table.columns.values()) {
      const found = column.type.category === 'E' ? labels.get(column.type.oid) : undefined;
      if (found) columnLabels.set(column.name, found);
    }
    return scaffoldTable(table, { prefix, key, labels: columnLabels });
  });
}

/** `YYYYMMDDHHMMSS` in UTC, `offset` seconds from now: knex runs migrations in name order. */
function migrationStamp(offset: number): string {
  return new Date(Date.now() + offset * 1000).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** The existing migration creating `target` (so a second scaffold replaces it), else a new name. */
function migrationFile(dir: string, target: string, offset: number): string {
  const existing = existsSync(dir)
    ? readdirSync(dir).find((file) => file.endsWith(`_${target}.mjs`) && /^\d+_/.test(file))
    : undefined;
  return path.join(dir, existing ?? `${migrationStamp(offset)}_${target}.mjs`);
}

interface PlannedFile {
  readonly file: string;
  readonly text: string;
}

function planFiles(
  scaffolded: readonly ScaffoldedTable[],
  mappingsDir: string,
  migrationsDir: string,
): PlannedFile[] {
  return scaffolded.flatMap((table, index) => [
    { file: path.join(mappingsDir, `${table.name}.yaml`), text: table.mappingYaml },
    { file: migrationFile(migrationsDir, table.target, index), text: table.migrationJs },
  ]);
}

/**
 * `millrace mappings scaffold`: a mapping and a staging-table migration per CRM table, typed from
 * the live catalogs. Nothing is written when any file exists already, unless --force.
 */
export async function executeMappingsScaffold(
  tableArgs: readonly string[],
  options: ScaffoldOptions,
  command: Command,
): Promise<void> {
  const names = tableArgs.map(parseSourceTable);
  const context = createContext(command);
  const { config, print } = context;
  const mappingsDir = options.out ?? config.mappingsDir;
  const scaffolded = await withReleasers(async (releasers) => {
    const client = await holdSource(releasers, context, 'mappings scaffold');
    return scaffoldAll(client, await readTables(client, names), options.prefix);
  });
  const files = planFiles(scaffolded, mappingsDir, config.migrationsDir);
  const taken = files.find((planned) => existsSync(planned.file));
  if (taken && options.force !== true) {
    throw new ConfigError(
      'FILE_EXISTS',
      `${taken.file} exists already; nothing was written (use --force to overwrite, or --out/--migrations for other directories)`,
    );
  }
  for (const planned of files) {
    mkdirSync(path.dirname(planned.file), { recursive: true });
    writeFileSync(planned.file, planned.text);
  }
  const lines = scaffolded.flatMap((table, index) => [
    `wrote ${files[index * 2]!.file}: ${table.source} → ${table.target}, key ${table.key.join(', ')}, ${table.columns.length} columns`,
    `wrote ${files[index * 2 + 1]!.file}`,
    ...table.notes.map((note) => `  note: ${note}`),
  ]);
  print([...lines, 'next: millrace migrate && millrace mappings check --strict'].join('\n'));
}
