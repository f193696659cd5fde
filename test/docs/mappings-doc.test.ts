import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMapping } from '../../src/mapping/check-mapping.js';
import { readMappings } from '../../src/mapping/load-mappings.js';
import { mappedCrmTables, mappedTables } from '../../src/mapping/mapping-index.js';
import { formatProblem, type MappingProblem } from '../../src/mapping/mapping-problem.js';
import type { MappingSpec } from '../../src/mapping/mapping-spec.js';
import { mesSourceTable, type SourceTable } from '../../src/mapping/tables.js';
import { toCrmTypes } from '../../src/mapping/to-crm-types.js';
import { introspectTarget } from '../../src/mysql/introspect.js';
import { introspectSource } from '../../src/postgres/introspect.js';
import { introspectCrmTargets } from '../../src/postgres/introspect-targets.js';
import type { MesColumn, SourceType, TargetColumn } from '../../src/values/column-types.js';
import { checkCompatibility } from '../../src/values/compatibility.js';
import { crmSchemaFile, migrateReferenceStaging } from '../fixtures/crm-fixture.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';

/**
 * docs/mappings.md cannot drift from the code: every ```yaml block in it is loaded with the
 * mappings loader and checked with `mappings check`'s checker against the reference schemas
 * (the CRM fixture and the staging migrations). A block passes with no problem at all, or with
 * exactly the problems its leading `# expect: CODE [field]` comments name. The page's table of
 * problem codes must list every code the loader and checker can report, at the right level.
 */
const docFile = path.resolve('docs/mappings.md');
const doc = readFileSync(docFile, 'utf8');

interface Example {
  /** 1-based line of the block's opening fence, for naming the test. */
  readonly line: number;
  readonly text: string;
  /** The file the block would be saved as (`# mappings/contacts.yaml`), else example.yaml. */
  readonly file: string;
  /** `CODE field` (or `CODE` for a problem without a field), sorted. */
  readonly expected: readonly string[];
}

interface Fence {
  readonly line: number;
  readonly language: string;
  readonly body: string;
}

/** Every fenced block of the page, with its language tag ('' when there is none). */
function fences(markdown: string): Fence[] {
  const lines = markdown.split('\n');
  const found: Fence[] = [];
  for (let index = 0; index < lines.length; index++) {
    const open = /^```(\S*)\s*$/.exec(lines[index]!);
    if (!open) continue;
    const end = lines.findIndex((text, at) => at > index && text.trimEnd() === '```');
    if (end === -1) throw new Error(`unclosed code block at line ${index + 1}`);
    found.push({
      line: index + 1,
      language: open[1]!,
      body: `${lines.slice(index + 1, end).join('\n')}\n`,
    });
    index = end;
  }
  return found;
}

function example(fence: Fence): Example {
  const lines = fence.body.split('\n');
  const firstOther = lines.findIndex((text) => !text.startsWith('#'));
  const header = lines.slice(0, firstOther === -1 ? lines.length : firstOther);
  const file = header
    .map((text) => /^# mappings\/([\w.-]+\.ya?ml)\s*$/.exec(text)?.[1])
    .find((name) => name !== undefined);
  const expected = header
    .map((text) => /^# expect: (\S+(?: \S+)?)\s*$/.exec(text)?.[1])
    .filter((entry): entry is string => entry !== undefined)
    .sort();
  return { line: fence.line, text: fence.body, file: file ?? 'example.yaml', expected };
}

const allFences = fences(doc);
const examples = allFences.filter((fence) => fence.language === 'yaml').map(example);

let dbs: TestDatabases;
const dirs: string[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases('docs_mappings');
  await dbs.pg.query(readFileSync(crmSchemaFile, 'utf8'));
  await migrateReferenceStaging(dbs);
  // The return path's examples: a MES work-order table and the CRM table it feeds.
  // Its own work-order table in place of the reference one (same name, other columns).
  await dbs.mysql.query('drop table work_order');
  await dbs.mysql.query(`
    create table work_order (
      id bigint unsigned not null primary key,
      crm_order_ref varchar(64) not null,
      status enum('draft','released','running','done') not null,
      planned_start datetime(6) null,
      planned_finish datetime(6) null,
      qty_done decimal(12,3) not null default 0,
      qty_scrap decimal(12,3) not null default 0,
      rush tinyint(1) not null default 0,
      note text null
    ) character set utf8mb4`);
  await dbs.pg.query('drop table public.mes_work_order');
  await dbs.pg.query(`
    create table public.mes_work_order (
      mes_order_id numeric(20,0) primary key,
      order_ref varchar(64) not null,
      status text not null,
      planned_start timestamptz(6),
      planned_finish timestamptz(6),
      qty_done numeric(12,3) not null,
      qty_scrap numeric(12,3) not null,
      rush boolean not null,
      note text,
      is_deleted boolean not null default false,
      deleted_at timestamptz,
      mes_position bigint,
      synced_at timestamptz
    )`);
});

afterAll(async () => {
  await dbs?.drop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Loads one example as a mappings directory and checks what loads against the live schemas. */
async function problemsOf(sample: Example): Promise<MappingProblem[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-doc-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, sample.file), sample.text);
  const loaded = readMappings(dir);
  const toMes = loaded.specs.filter((spec) => spec.direction === 'to-mes');
  const toCrm = loaded.specs.filter((spec) => spec.direction === 'to-crm');
  const tables = mappedTables(toMes);
  const schemas = {
    source: await introspectSource(dbs.pg, tables.source),
    target: await introspectTarget(dbs.mysql, tables.target),
  };
  return [
    ...loaded.problems,
    ...toMes.flatMap((spec) => checkMapping(spec, schemas)),
    ...(await crmProblemsOf(toCrm)),
  ];
}

/** to-crm mappings against the MES tables they read and the CRM tables they write. */
async function crmProblemsOf(specs: readonly MappingSpec[]): Promise<MappingProblem[]> {
  if (specs.length === 0) return [];
  const tables = mappedCrmTables(specs);
  const source = new Map<string, SourceTable<MesColumn>>();
  for (const [name, table] of await introspectTarget(dbs.mysql, tables.source))
    source.set(name, mesSourceTable(table));
  const schemas = { source, target: await introspectCrmTargets(dbs.pg, tables.target) };
  return specs.flatMap((spec) => checkMapping(spec, schemas, toCrmTypes));
}

describe('docs/mappings.md', () => {
  it('tags every code block with its language, and has YAML examples', () => {
    expect(allFences.filter((fence) => fence.language === '').map((fence) => fence.line)).toEqual(
      [],
    );
    expect(
      allFences.filter((fence) => fence.language === 'yml').map((fence) => fence.line),
    ).toEqual([]);
    expect(examples.length).toBeGreaterThanOrEqual(30);
  });

  it.each(examples.map((sample) => [`line ${sample.line} (${sample.file})`, sample] as const))(
    'example at %s loads and checks as the page says',
    async (_, sample) => {
      const problems = await problemsOf(sample);
      const found = problems
        .map((problem) =>
          problem.field === undefined ? problem.code : `${problem.code} ${problem.field}`,
        )
        .sort();
      const messages = problems.map((problem) => `${problem.level}: ${formatProblem(problem)}`);
      expect(found, messages.join('\n')).toEqual(sample.expected);
    },
  );
});

/** String literals that look like problem codes (`'SOURCE_COLUMN_MISSING'`) in a source file. */
function codesIn(file: string): Set<string> {
  const text = readFileSync(path.resolve(file), 'utf8');
  return new Set([...text.matchAll(/'([A-Z]+(?:_[A-Z]+)+)'/g)].map((match) => match[1]!));
}

describe('the table of problem codes', () => {
  const rows = [...doc.matchAll(/^\| `([A-Z_]+)` \| (error|warning) \|/gm)].map((match) => ({
    code: match[1]!,
    level: match[2]!,
  }));
  // The loader, the resolver and the checker's rule files: every place a problem is reported.
  const reporters = [
    'src/mapping/load-mappings.ts',
    'src/mapping/normalize-mapping.ts',
    'src/mapping/resolve-mapping.ts',
    ...readdirSync(path.resolve('src/mapping'))
      .filter((file) => file.startsWith('check-'))
      .map((file) => `src/mapping/${file}`),
  ];
  const warnings = new Set(
    reporters.flatMap((file) =>
      [...readFileSync(path.resolve(file), 'utf8').matchAll(/warn\(\s*'([A-Z_]+)'/g)].map(
        (match) => match[1]!,
      ),
    ),
  );

  it('lists every code the loader and the checker report, at its level', () => {
    const reported = new Set(reporters.flatMap((file) => [...codesIn(file)]));
    // These two end the command before any mapping is read; the page names them apart.
    const commandCodes = ['MAPPINGS_DIR_MISSING', 'NO_MAPPINGS'];
    for (const code of commandCodes) {
      expect(reported.has(code)).toBe(true);
      reported.delete(code);
    }
    expect(rows.map((row) => row.code).sort()).toEqual([...reported].sort());
    expect(warnings.size).toBeGreaterThan(0);
    for (const row of rows) {
      expect(`${row.code} ${row.level}`).toBe(
        `${row.code} ${warnings.has(row.code) ? 'warning' : 'error'}`,
      );
    }
  });

  it('names the codes that end a command, and they exist', () => {
    const commandCodes = [
      ...codesIn('src/mapping/load-mappings.ts'),
      ...codesIn('src/cli/commands/mappings-check.ts'),
    ].filter((code) => code.startsWith('MAPPINGS_') || code === 'NO_MAPPINGS');
    expect(commandCodes.sort()).toEqual([
      'MAPPINGS_CHECK_FAILED',
      'MAPPINGS_DIR_MISSING',
      'NO_MAPPINGS',
    ]);
    for (const code of commandCodes) expect(doc).toContain(`\`${code}\``);
  });
});

/** A column of each kind the values module tells apart, wide enough for any source. */
const targetSamples: Readonly<Record<string, Partial<TargetColumn>>> = {
  integer: { dataType: 'int', columnType: 'int(11)' },
  decimal: { dataType: 'decimal', columnType: 'decimal(10,2)', precision: 10, scale: 2 },
  float: { dataType: 'double', columnType: 'double' },
  bit: { dataType: 'bit', columnType: 'bit(8)', precision: 8 },
  year: { dataType: 'year', columnType: 'year(4)' },
  string: { dataType: 'varchar', columnType: 'varchar(255)', maxLength: 255 },
  enum: { dataType: 'enum', columnType: "enum('a')", enumValues: ['a'] },
  json: { dataType: 'json', columnType: 'json', isJson: true },
  date: { dataType: 'date', columnType: 'date' },
  datetime: { dataType: 'datetime', columnType: 'datetime(6)', datetimePrecision: 6 },
  timestamp: { dataType: 'timestamp', columnType: 'timestamp(6)', datetimePrecision: 6 },
  time: { dataType: 'time', columnType: 'time(6)', datetimePrecision: 6 },
  binary: { dataType: 'varbinary', columnType: 'varbinary(255)', maxLength: 255 },
};

function targetColumn(facts: Partial<TargetColumn>): TargetColumn {
  return {
    name: 'c',
    dataType: 'varchar',
    columnType: 'varchar(1)',
    maxLength: null,
    precision: null,
    scale: null,
    datetimePrecision: null,
    unsigned: false,
    nullable: true,
    isJson: false,
    ...facts,
  };
}

const source = (name: string, category: string, typmod = -1, elementName?: string): SourceType =>
  elementName === undefined
    ? { name, oid: 0, category, typmod }
    : { name, oid: 0, category, typmod, elementName };

/** The PostgreSQL types the table's first column names, as introspection describes them. */
const sourceSamples: Readonly<Record<string, SourceType>> = {
  smallint: source('int2', 'N'),
  integer: source('int4', 'N'),
  bigint: source('int8', 'N'),
  oid: source('oid', 'N'),
  numeric: source('numeric', 'N'),
  'numeric(p,s)': source('numeric', 'N', ((10 << 16) | 2) + 4),
  real: source('float4', 'N'),
  'double precision': source('float8', 'N'),
  boolean: source('bool', 'B'),
  text: source('text', 'S'),
  'varchar(n)': source('varchar', 'S', 36),
  'char(n)': source('bpchar', 'S', 14),
  name: source('name', 'S'),
  citext: source('citext', 'S'),
  date: source('date', 'D'),
  timestamp: source('timestamp', 'D'),
  timestamptz: source('timestamptz', 'D'),
  time: source('time', 'D'),
  timetz: source('timetz', 'D'),
  uuid: source('uuid', 'U'),
  json: source('json', 'U'),
  jsonb: source('jsonb', 'U'),
  'text[]': source('_text', 'A', -1, 'text'),
  'integer[]': source('_int4', 'A', -1, 'int4'),
  bytea: source('bytea', 'U'),
  interval: source('interval', 'T'),
  inet: source('inet', 'I'),
  cidr: source('cidr', 'I'),
  macaddr: source('macaddr', 'U'),
  money: source('money', 'N'),
  bit: source('bit', 'V', 8),
  tsvector: source('tsvector', 'U'),
  xml: source('xml', 'U'),
};

/** Column kinds named in the table's second column, by word or by `TYPE`. */
const kindWords: readonly (readonly [RegExp, readonly string[]])[] = [
  [/integer types/, ['integer']],
  [/text types/, ['string']],
  [/\bnumbers\b/, ['integer', 'decimal', 'float', 'bit', 'year']],
  [/dates and times/, ['date', 'datetime', 'timestamp', 'time']],
  [/\bbinary\b/, ['binary']],
];
const kindTypes: Readonly<Record<string, string>> = {
  TINYINT: 'integer',
  BIGINT: 'integer',
  DECIMAL: 'decimal',
  FLOAT: 'float',
  DOUBLE: 'float',
  BIT: 'bit',
  YEAR: 'year',
  CHAR: 'string',
  VARCHAR: 'string',
  TEXT: 'string',
  TINYTEXT: 'string',
  LONGTEXT: 'string',
  ENUM: 'enum',
  JSON: 'json',
  DATE: 'date',
  DATETIME: 'datetime',
  TIMESTAMP: 'timestamp',
  TIME: 'time',
  BINARY: 'binary',
  VARBINARY: 'binary',
  BLOB: 'binary',
  TINYBLOB: 'binary',
  LONGBLOB: 'binary',
};

function listedKinds(cell: string): string[] {
  const kinds = new Set<string>();
  for (const [pattern, named] of kindWords) {
    if (!pattern.test(cell)) continue;
    for (const kind of named) kinds.add(kind);
  }
  for (const match of cell.matchAll(/`([A-Z][A-Z ]*)/g)) {
    const kind = kindTypes[match[1]!.trim()];
    if (kind !== undefined) kinds.add(kind);
  }
  return [...kinds].sort();
}

function acceptedKinds(type: SourceType | 'text'): string[] {
  return Object.entries(targetSamples)
    .filter(([, facts]) => checkCompatibility(type, targetColumn(facts)).level !== 'error')
    .map(([kind]) => kind)
    .sort();
}

describe('the conversion table', () => {
  const section = doc.slice(doc.indexOf('## Conversion table'));
  const rows = [...section.matchAll(/^\| (.+?) \| (.+?) \| .+ \| .+ \|$/gm)]
    .map((match) => ({ types: match[1]!, into: match[2]! }))
    .filter((row) => !row.types.startsWith('PostgreSQL') && !row.types.startsWith('---'));
  const textRow = rows.find((row) => row.types.startsWith('`text`'));

  it('lists, for every PostgreSQL type, exactly the column kinds the values module accepts', () => {
    expect(rows.length).toBeGreaterThanOrEqual(15);
    expect(textRow).toBeDefined();
    const seen = new Set<string>();
    for (const row of rows) {
      const into = row.into.startsWith('any column listed for `text`') ? textRow!.into : row.into;
      const samples: [string, SourceType | 'text'][] = [];
      if (row.types.startsWith('*derived text*')) samples.push(['derived text', 'text']);
      if (row.types.startsWith('enum types')) samples.push(['enum', source('partner_type', 'E')]);
      for (const match of row.types.matchAll(/`([^`]+)`/g)) {
        const type = sourceSamples[match[1]!];
        if (type !== undefined && !row.types.startsWith('*derived'))
          samples.push([match[1]!, type]);
      }
      expect(samples.length, row.types).toBeGreaterThan(0);
      for (const [label, type] of samples) {
        seen.add(label);
        expect(`${label}: ${acceptedKinds(type).join(', ')}`).toBe(
          `${label}: ${listedKinds(into).join(', ')}`,
        );
      }
    }
    expect([...Object.keys(sourceSamples)].filter((name) => !seen.has(name))).toEqual([]);
  });

  it('refuses SET columns from every source type', () => {
    const set = targetColumn({ dataType: 'set', columnType: "set('a')" });
    for (const type of [...Object.values(sourceSamples), 'text' as const]) {
      expect(checkCompatibility(type, set).level).toBe('error');
    }
  });
});
