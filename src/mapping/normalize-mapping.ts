import type { OnDelete } from './compiled-mapping.js';
import type { Direction } from './direction-types.js';
import { formatPath } from './format-issues.js';
import type {
  RawColumnRule,
  RawCondition,
  RawFilter,
  RawMapping,
  RawScalar,
  RawTransform,
} from './mapping-schema.js';
import type {
  ColumnRule,
  ColumnSpec,
  FilterCondition,
  FilterOperator,
  FilterSpec,
  KeySpec,
  MappingSpec,
  Transform,
} from './mapping-spec.js';
import { parseTemplate } from './template.js';

/** A problem inside one mapping, before file and mapping name are attached. */
interface SpecIssue {
  readonly code: string;
  readonly path: readonly (string | number)[];
  readonly message: string;
}

interface NormalizeInput {
  readonly raw: RawMapping;
  readonly name: string;
  readonly file: string;
  readonly lines: ReadonlyMap<string, number>;
  /** The mapping as read from YAML, before zod: its objects keep the file's key order. */
  readonly original?: unknown;
}

/** The text a YAML scalar writes: numbers keep every digit they had (integers arrive as BigInt). */
function scalarText(value: RawScalar): string | null {
  if (value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  return String(value);
}

function normalizeTransform(transform: RawTransform): Transform {
  if (typeof transform === 'string')
    return Object.freeze({ kind: transform as 'trim' | 'upper' | 'lower' });
  return Object.freeze({ kind: 'truncate', length: Number(transform.truncate) });
}

function normalizeRule(
  raw: RawColumnRule,
  path: readonly (string | number)[],
  issues: SpecIssue[],
): ColumnRule | undefined {
  if (typeof raw === 'string') return Object.freeze({ kind: 'copy', from: raw });
  const transform = Object.freeze((raw.transform ?? []).map(normalizeTransform));
  const withDefault = Object.hasOwn(raw, 'default') && raw.default !== undefined;
  const fallback = withDefault ? { default: scalarText(raw.default as RawScalar) } : {};
  if (Object.hasOwn(raw, 'const'))
    return Object.freeze({ kind: 'const', value: scalarText(raw.const as RawScalar) });
  if (raw.template !== undefined) {
    const parsed = parseTemplate(raw.template);
    if (!parsed.ok) {
      issues.push({
        code: 'TEMPLATE_SYNTAX',
        path: [...path, 'template'],
        message: parsed.message,
      });
      return undefined;
    }
    return Object.freeze({ kind: 'template', parts: parsed.parts, transform, ...fallback });
  }
  const from = raw.from as string;
  if (raw.path === undefined && raw.map === undefined && transform.length === 0) {
    // `{ from, default }` is a copy that fills NULLs: it keeps the source type's conversion.
    return Object.freeze({ kind: 'copy', from, ...fallback });
  }
  const map =
    raw.map === undefined
      ? undefined
      : new Map(Object.entries(raw.map).map(([key, value]) => [key, scalarText(value)] as const));
  return Object.freeze({
    kind: 'derive',
    from,
    ...(raw.path === undefined ? {} : { path: Object.freeze(raw.path.split('.')) }),
    ...(map === undefined ? {} : { map }),
    ...fallback,
    transform,
  });
}

const operators: readonly FilterOperator[] = [
  'eq',
  'ne',
  'in',
  'notIn',
  'gt',
  'gte',
  'lt',
  'lte',
  'isNull',
];

function normalizeCondition(
  column: string,
  raw: RawCondition,
  path: readonly (string | number)[],
): FilterSpec {
  const conditions: FilterCondition[] = [];
  for (const op of operators) {
    const value = raw[op];
    if (value === undefined) continue;
    const field = formatPath([...path, op]);
    const text =
      op === 'isNull'
        ? (value as boolean)
        : Array.isArray(value)
          ? Object.freeze(value.map((item) => scalarText(item) as string))
          : (scalarText(value as RawScalar) as string);
    conditions.push(Object.freeze({ kind: 'condition', column, op, value: text, field }));
  }
  return conditions.length === 1
    ? conditions[0]!
    : Object.freeze({ kind: 'all', items: Object.freeze(conditions), field: formatPath(path) });
}

/** Keys of `parsed` in the order the YAML file has them (zod puts declared keys like all/any first). */
function fileOrder(parsed: object, original: unknown): string[] {
  const keys = Object.keys(parsed);
  if (original === null || typeof original !== 'object') return keys;
  const order = Object.keys(original);
  return [...keys].sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

function normalizeFilter(
  raw: RawFilter,
  path: readonly (string | number)[],
  original: unknown,
): FilterSpec {
  const items: FilterSpec[] = [];
  for (const key of fileOrder(raw, original)) {
    const value = raw[key]!;
    if (key === 'all' || key === 'any') {
      const originals = (original as Record<string, unknown[]> | undefined)?.[key];
      const group = (value as RawFilter[]).map((item, index) =>
        normalizeFilter(item, [...path, key, index], originals?.[index]),
      );
      items.push(
        Object.freeze({
          kind: key,
          items: Object.freeze(group),
          field: formatPath([...path, key]),
        }),
      );
    } else {
      items.push(normalizeCondition(key, value as RawCondition, [...path, key]));
    }
  }
  return items.length === 1
    ? items[0]!
    : Object.freeze({ kind: 'all', items: Object.freeze(items), field: formatPath(path) });
}

/** softDelete and onDelete: soft go together. */
function checkSoftDelete(raw: RawMapping, onDelete: OnDelete, issues: SpecIssue[]): void {
  if (raw.softDelete && onDelete !== 'soft') {
    issues.push({
      code: 'SOFT_DELETE_WITHOUT_SOFT',
      path: ['softDelete'],
      message: `softDelete needs onDelete: soft (onDelete is ${onDelete})`,
    });
  }
  if (onDelete === 'soft' && !raw.softDelete) {
    issues.push({
      code: 'SOFT_WITHOUT_SOFT_DELETE',
      path: ['onDelete'],
      message: 'onDelete: soft needs softDelete: { flag: <column>, at: <column> }',
    });
  }
}

/**
 * Source and target as the pipeline routes and the engines look them up. to-mes: source
 * `schema.table` in the CRM, target a MES table. to-crm: source a bare MES table name (a
 * `database.` prefix is dropped: the MES connection names the database), target `schema.table`
 * in the CRM (`public` when no schema is written).
 */
function tableNames(direction: Direction, raw: RawMapping) {
  if (direction === 'to-mes') {
    const [schema, table] = raw.source.split('.') as [string, string];
    return { schema, table, sourceKey: `${schema}.${table}`, target: raw.target };
  }
  const table = raw.source.slice(raw.source.indexOf('.') + 1);
  const target = raw.target.includes('.') ? raw.target : `public.${raw.target}`;
  return { schema: '', table, sourceKey: table, target };
}

/**
 * Turns a schema-valid YAML mapping into a MappingSpec and finds what is wrong inside it without
 * a database: soft-delete settings that contradict `onDelete`, a target column written twice,
 * template syntax.
 */
export function normalizeMapping(input: NormalizeInput): {
  spec?: MappingSpec;
  issues: SpecIssue[];
} {
  const { raw } = input;
  const issues: SpecIssue[] = [];
  const direction = raw.direction ?? 'to-mes';
  const names = tableNames(direction, raw);
  const key: KeySpec[] = Object.entries(raw.key).map(([target, from]) =>
    Object.freeze({ target, from }),
  );
  const columns: ColumnSpec[] = [];
  for (const [target, rawRule] of Object.entries(raw.columns ?? {})) {
    const rule = normalizeRule(rawRule, ['columns', target], issues);
    if (rule) columns.push(Object.freeze({ target, rule }));
  }
  const onDelete: OnDelete = raw.onDelete ?? 'delete';
  checkSoftDelete(raw, onDelete, issues);

  // MySQL column names are case-insensitive: `Name` and `name` are one column.
  const written = new Map<string, string>();
  const claim = (column: string, path: readonly (string | number)[]) => {
    const field = formatPath(path);
    const earlier = written.get(column.toLowerCase());
    if (earlier === undefined) written.set(column.toLowerCase(), field);
    else {
      issues.push({
        code: 'COLUMN_MAPPED_TWICE',
        path,
        message: `target column ${column} is already written by ${earlier}`,
      });
    }
  };
  for (const { target } of key) claim(target, ['key', target]);
  for (const { target } of columns) claim(target, ['columns', target]);
  if (raw.softDelete) {
    claim(raw.softDelete.flag, ['softDelete', 'flag']);
    if (raw.softDelete.at) claim(raw.softDelete.at, ['softDelete', 'at']);
  }
  if (raw.metadata?.lsn) claim(raw.metadata.lsn, ['metadata', 'lsn']);
  if (raw.metadata?.syncedAt) claim(raw.metadata.syncedAt, ['metadata', 'syncedAt']);

  if (issues.length > 0) return { issues };
  const spec: MappingSpec = Object.freeze({
    name: input.name,
    file: input.file,
    direction,
    source: Object.freeze({ schema: names.schema, table: names.table }),
    sourceKey: names.sourceKey,
    target: names.target,
    key: Object.freeze(key),
    columns: Object.freeze(columns),
    ...(raw.filter === undefined
      ? {}
      : {
          filter: normalizeFilter(
            raw.filter,
            ['filter'],
            (input.original as { filter?: unknown } | undefined)?.filter,
          ),
        }),
    onDelete,
    ...(raw.softDelete ? { softDelete: Object.freeze({ ...raw.softDelete }) } : {}),
    ...(raw.metadata ? { metadata: Object.freeze({ ...raw.metadata }) } : {}),
    lines: input.lines,
  });
  return { spec, issues };
}
