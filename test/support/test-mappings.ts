import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compileMappings } from '../../src/mapping/compile-mappings.js';
import type { CompiledMapping } from '../../src/mapping/compiled-mapping.js';
import { loadMappings } from '../../src/mapping/load-mappings.js';
import { indexMappingsBySource } from '../../src/mapping/mapping-index.js';
import type { Schemas, SourceTable, TargetTable } from '../../src/mapping/tables.js';
import type { SourceType, TargetColumn } from '../../src/values/column-types.js';

/**
 * PostgreSQL types the fake catalogs know, as introspection would report them (name, OID,
 * typcategory). Enough for unit tests of the pipeline; the real catalogs are tested elsewhere.
 */
const sourceTypes: Readonly<Record<string, Omit<SourceType, 'typmod'>>> = {
  int4: { name: 'int4', oid: 23, category: 'N' },
  int8: { name: 'int8', oid: 20, category: 'N' },
  numeric: { name: 'numeric', oid: 1700, category: 'N' },
  text: { name: 'text', oid: 25, category: 'S' },
  bool: { name: 'bool', oid: 16, category: 'B' },
  timestamptz: { name: 'timestamptz', oid: 1184, category: 'D' },
  jsonb: { name: 'jsonb', oid: 3802, category: 'U' },
};

/** A source table: column name → type name from `sourceTypes`; `key` is the primary key. */
export interface FakeSourceTable {
  readonly columns: Readonly<Record<string, string>>;
  readonly key: readonly string[];
  /** REPLICA IDENTITY FULL instead of the primary key. */
  readonly full?: boolean;
}

/** A target table: column name → MySQL column type (`int`, `varchar(40)`, `decimal(14,3)`, …). */
export interface FakeTargetTable {
  readonly columns: Readonly<Record<string, string>>;
  readonly key: readonly string[];
}

function sourceTable(qualified: string, spec: FakeSourceTable): SourceTable {
  const [schema, name] = qualified.split('.') as [string, string];
  const columns = new Map(
    Object.entries(spec.columns).map(([column, type]) => {
      const known = sourceTypes[type];
      if (!known) throw new Error(`fake source type ${type} is not known`);
      return [
        column,
        { name: column, type: { ...known, typmod: -1 }, notNull: spec.key.includes(column) },
      ];
    }),
  );
  return {
    schema,
    name,
    columns,
    primaryKey: spec.key,
    replicaIdentity: spec.full ? 'f' : 'd',
    identityColumns: spec.full ? Object.keys(spec.columns) : spec.key,
    kind: 'r',
  };
}

/** Parses `varchar(40)`, `decimal(14,3) unsigned`, `datetime(6)` into information_schema facts. */
function targetColumn(name: string, columnType: string, nullable: boolean): TargetColumn {
  const match = /^(\w+)(?:\((\d+)(?:,(\d+))?\))?( unsigned)?$/.exec(columnType);
  if (!match) throw new Error(`fake target type ${columnType} is not understood`);
  const [, dataType = '', first, second, unsigned] = match;
  const size = first === undefined ? null : Number(first);
  const textual = ['char', 'varchar', 'binary', 'varbinary'].includes(dataType);
  const numeric = ['decimal', 'numeric'].includes(dataType);
  const temporal = ['datetime', 'timestamp', 'time'].includes(dataType);
  return {
    name,
    dataType,
    columnType,
    maxLength: textual ? size : null,
    precision: numeric ? size : null,
    scale: numeric ? Number(second ?? 0) : null,
    datetimePrecision: temporal ? (size ?? 0) : null,
    unsigned: unsigned !== undefined,
    nullable,
    isJson: dataType === 'json',
  };
}

function targetTable(name: string, spec: FakeTargetTable): TargetTable {
  const columns = new Map(
    Object.entries(spec.columns).map(([column, type]) => [
      column,
      targetColumn(column, type, !spec.key.includes(column)),
    ]),
  );
  return { name, columns, primaryKey: spec.key, uniqueKeys: [] };
}

/** Fake catalogs for `compileMappings`: no database involved. */
export function fakeSchemas(tables: {
  readonly source: Readonly<Record<string, FakeSourceTable>>;
  readonly target: Readonly<Record<string, FakeTargetTable>>;
}): Schemas {
  return {
    source: new Map(
      Object.entries(tables.source).map(([name, spec]) => [name, sourceTable(name, spec)]),
    ),
    target: new Map(
      Object.entries(tables.target).map(([name, spec]) => [name, targetTable(name, spec)]),
    ),
  };
}

/**
 * Loads mappings from YAML text and compiles them against fake catalogs, as `run` does against
 * live ones (the same checks apply: a mapping `mappings check` refuses throws here too).
 */
export function compileYamlMappings(yaml: string, schemas: Schemas): readonly CompiledMapping[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-unit-'));
  try {
    writeFileSync(path.join(dir, 'mappings.yaml'), yaml);
    return compileMappings(loadMappings(dir), schemas);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The compiled mappings by source table, as the change mapper takes them. */
export function mappingsBySource(
  yaml: string,
  schemas: Schemas,
): ReadonlyMap<string, readonly CompiledMapping[]> {
  return indexMappingsBySource(compileYamlMappings(yaml, schemas));
}
