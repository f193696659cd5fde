import { z } from 'zod';

/**
 * The YAML mapping format as a zod schema. Every object is strict: a
 * typo in a key must fail loudly rather than silently drop a rule. Integers arrive as BigInt
 * (the YAML is parsed with `intAsBigInt`) so a 20-digit constant keeps every digit.
 *
 * Messages are written for the person editing the file; `format-issues.ts` turns zod's issues into
 * `field: problem` with the field spelled as a YAML path.
 */

/** Marks the allowed keys of an object in its unknown-key message, for "did you mean …". */
export const allowedKeysPrefix = 'allowed keys: ';

function strict<T extends z.ZodRawShape>(shape: T) {
  const allowed = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (issue) =>
      issue.code === 'unrecognized_keys' ? `${allowedKeysPrefix}${allowed}` : undefined,
  });
}

const scalar = z.union([z.string(), z.number(), z.bigint(), z.boolean(), z.null()], {
  error: 'expected a single value (text, number, true/false or null)',
});
const literal = z.union([z.string(), z.number(), z.bigint(), z.boolean()], {
  error: 'expected a single value (text, number or true/false; use isNull for NULL)',
});
const orderable = z.union([z.string(), z.number(), z.bigint()], {
  error: 'expected a number or text to compare with',
});

/** A column name of the side's engine: PostgreSQL's names have at most 63 characters, MySQL's 64. */
function columnName(side: 'source' | 'target', engine: 'PostgreSQL' | 'MySQL') {
  const expected = `expected a ${side} column name`;
  const max = engine === 'PostgreSQL' ? 63 : 64;
  return z
    .string({ error: expected })
    .min(1, expected)
    .max(max, `a ${engine} column name has at most ${max} characters`);
}

// to-mes reads PostgreSQL and writes MySQL; to-crm the other way round.
const sourceColumn = columnName('source', 'PostgreSQL');
const targetColumn = columnName('target', 'MySQL');

const jsonPath = z
  .string({ error: 'expected a dotted JSON path like address.city' })
  .regex(/^[^.]+(\.[^.]+)*$/, 'expected a dotted JSON path like address.city');

const positiveLength = z.custom<bigint | number>(
  (value) =>
    (typeof value === 'bigint' && value > 0n && value <= 2n ** 31n) ||
    (typeof value === 'number' && Number.isInteger(value) && value > 0 && value <= 2 ** 31),
  { error: 'truncate needs a positive length, like { truncate: 40 }' },
);

const namedTransforms = ['trim', 'upper', 'lower'] as const;

const transform = z.union(
  [
    z.string().superRefine((value, ctx) => {
      if ((namedTransforms as readonly string[]).includes(value)) return;
      ctx.addIssue({
        code: 'custom',
        message:
          value === 'truncate'
            ? 'truncate needs a positive length, like { truncate: 40 }'
            : `unknown transform '${value}' (expected trim, upper, lower or { truncate: N })`,
      });
    }),
    strict({ truncate: positiveLength }),
  ],
  { error: 'expected trim, upper, lower or { truncate: N }' },
);

const ruleObject = (sourceColumn: z.ZodString) =>
  strict({
    from: sourceColumn.optional(),
    path: jsonPath.optional(),
    map: z
      .record(z.string(), scalar, { error: 'expected an object' })
      .refine(
        (map) => Object.keys(map).length > 0,
        'expected at least one entry, like { sale: RELEASED }',
      )
      .optional(),
    default: scalar.optional(),
    template: z.string({ error: 'expected a template text like "{name}/{id}"' }).optional(),
    transform: z.array(transform, { error: 'expected a list, like [trim, upper]' }).optional(),
    const: scalar.optional(),
  }).superRefine((rule, ctx) => {
    const has = (key: string) =>
      Object.hasOwn(rule, key) && (rule as Record<string, unknown>)[key] !== undefined;
    const hasConst = Object.hasOwn(rule, 'const');
    const sources = [
      has('from') && 'from',
      has('template') && 'template',
      hasConst && 'const',
    ].filter(Boolean);
    if (sources.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          sources.length === 0
            ? 'a rule needs one of from, template or const'
            : `a rule takes only one of from, template or const (got ${sources.join(' and ')})`,
      });
      return;
    }
    if (hasConst) {
      for (const key of ['path', 'map', 'default', 'transform']) {
        if (has(key))
          ctx.addIssue({ code: 'custom', path: [key], message: 'const takes no other keys' });
      }
    }
    if (has('template')) {
      for (const key of ['path', 'map']) {
        if (has(key))
          ctx.addIssue({ code: 'custom', path: [key], message: `${key} needs from, not template` });
      }
    }
  });

const columnRule = (sourceColumn: z.ZodString) =>
  z.union([sourceColumn, ruleObject(sourceColumn)], {
    error: 'expected a source column name or a rule like { from: …, map: … }',
  });

const condition = strict({
  eq: literal.optional(),
  ne: literal.optional(),
  in: z
    .array(literal, { error: 'expected a list of values' })
    .min(1, 'expected at least one value')
    .optional(),
  notIn: z
    .array(literal, { error: 'expected a list of values' })
    .min(1, 'expected at least one value')
    .optional(),
  gt: orderable.optional(),
  gte: orderable.optional(),
  lt: orderable.optional(),
  lte: orderable.optional(),
  isNull: z.boolean({ error: 'expected true or false' }).optional(),
}).refine(
  (value) => Object.keys(value).length > 0,
  'expected an operator: eq, ne, in, notIn, gt, gte, lt, lte or isNull',
);

type RawLiteral = string | number | bigint | boolean;
export type RawCondition = {
  eq?: RawLiteral;
  ne?: RawLiteral;
  in?: RawLiteral[];
  notIn?: RawLiteral[];
  gt?: string | number | bigint;
  gte?: string | number | bigint;
  lt?: string | number | bigint;
  lte?: string | number | bigint;
  isNull?: boolean;
};
/** `all` / `any` hold lists of filters; every other key is a source column with its condition. */
export type RawFilter = { [column: string]: RawCondition | RawFilter[] };

const filterGroup = (): z.ZodType<RawFilter[]> =>
  z.array(filter, { error: 'expected a list of filters' }).min(1, 'expected at least one filter');

const filter: z.ZodType<RawFilter> = z.lazy(() =>
  z
    .object(
      {
        all: filterGroup().optional(),
        any: filterGroup().optional(),
      },
      { error: 'expected an object of column: { operator: value }, all: […] or any: […]' },
    )
    .catchall(condition)
    .refine((value) => Object.keys(value).length > 0, 'expected at least one condition'),
);

const mappingName = z
  .string({ error: 'expected a name' })
  .regex(
    /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,190}$/,
    'expected letters, digits, _ . or - (at most 191), like production_orders',
  );

interface SideRules {
  readonly source: z.ZodType<string>;
  readonly target: z.ZodType<string>;
  readonly sourceColumn: z.ZodString;
  readonly targetColumn: z.ZodString;
  readonly direction: z.ZodType<'to-mes' | 'to-crm' | undefined>;
}

function mappingShape(side: SideRules) {
  const { sourceColumn, targetColumn } = side;
  return strict({
    name: mappingName.optional(),
    direction: side.direction,
    source: side.source,
    target: side.target,
    key: z
      .record(targetColumn, sourceColumn, {
        error: 'expected an object of target column: source column',
      })
      .refine(
        (key) => Object.keys(key).length > 0,
        'expected at least one key column, like { crm_order_id: id }',
      ),
    columns: z
      .record(targetColumn, columnRule(sourceColumn), {
        error: 'expected an object of target column: rule',
      })
      .optional(),
    filter: filter.optional(),
    onDelete: z
      .enum(['delete', 'soft', 'ignore'], { error: 'expected delete, soft or ignore' })
      .optional(),
    softDelete: strict({ flag: targetColumn, at: targetColumn.optional() }).optional(),
    metadata: strict({ lsn: targetColumn.optional(), syncedAt: targetColumn.optional() })
      .refine((value) => Object.keys(value).length > 0, 'expected lsn and/or syncedAt')
      .optional(),
  });
}

const directions = z.enum(['to-mes', 'to-crm'], { error: 'expected to-mes or to-crm' });

/** A CRM → MES mapping (the default direction). */
export const mappingSchema = mappingShape({
  direction: directions.optional(),
  source: z
    .string({ error: 'expected schema.table, like public.sale_order' })
    .regex(/^[^.\s"]+\.[^.\s"]+$/, 'expected schema.table, like public.sale_order'),
  target: z
    .string({ error: 'expected a target table name' })
    .regex(/^[^.\s`]{1,64}$/, 'expected a target table name (no schema, at most 64 characters)'),
  sourceColumn,
  targetColumn,
});

/**
 * A MES → CRM mapping (`direction: to-crm`): `source` a MES table (`work_order`, or
 * `mes.work_order`), `target` a CRM table (`schema.table`, or a table of `public`).
 */
export const crmMappingSchema = mappingShape({
  direction: directions.optional(),
  source: z
    .string({ error: 'expected a MES table name, like work_order' })
    .regex(/^(?:[^.\s`]{1,64}\.)?[^.\s`]{1,64}$/, 'expected a MES table name, like work_order'),
  target: z
    .string({ error: 'expected schema.table in the CRM, like public.work_order_progress' })
    .regex(
      /^(?:[^.\s"]{1,63}\.)?[^.\s"]{1,63}$/,
      'expected schema.table in the CRM, like public.work_order_progress',
    ),
  sourceColumn: columnName('source', 'MySQL'),
  targetColumn: columnName('target', 'PostgreSQL'),
});

export type RawMapping = z.infer<typeof mappingSchema>;
export type RawColumnRule = z.infer<ReturnType<typeof columnRule>>;
export type RawScalar = z.infer<typeof scalar>;
export type RawTransform = z.infer<typeof transform>;
