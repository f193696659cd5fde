import { performance } from 'node:perf_hooks';
import type { SourceType, TargetColumn } from '../src/values/column-types.js';
import { compileConversion } from '../src/values/compile-conversion.js';

/**
 * Throughput of the value conversions, per type family: `npm run build && node
 * dist/bench/values.js`. Prints values per second for a few hundred thousand realistic values.
 */

const source = (name: string, category: string, typmod = -1, elementName?: string): SourceType => ({
  name,
  oid: 0,
  category,
  typmod,
  ...(elementName === undefined ? {} : { elementName }),
});

const target = (
  dataType: string,
  columnType: string,
  extra: Partial<TargetColumn> = {},
): TargetColumn => ({
  name: 'v',
  dataType,
  columnType,
  maxLength: null,
  precision: null,
  scale: null,
  datetimePrecision: null,
  unsigned: false,
  nullable: true,
  isJson: false,
  ...extra,
});

const numericTypmod = (precision: number, scale: number) => ((precision << 16) | scale) + 4;
const pad = (value: number, width = 2) => String(value).padStart(width, '0');

/** Deterministic pseudo-random numbers, so runs compare. */
function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}

const next = random(42);
const int = (max: number) => Math.floor(next() * max);
const sample = (make: () => string, count = 10_000) => Array.from({ length: count }, make);
const timestamp = () =>
  `${2000 + int(30)}-${pad(1 + int(12))}-${pad(1 + int(28))} ${pad(int(24))}:${pad(int(60))}:${pad(int(60))}.${pad(int(1_000_000), 6)}`;
const word = () =>
  next()
    .toString(36)
    .slice(2, 2 + int(10) + 1);

const cases: readonly (readonly [string, SourceType | 'text', TargetColumn, readonly string[]])[] =
  [
    [
      'int4 → int',
      source('int4', 'N'),
      target('int', 'int(11)'),
      sample(() => String(int(2_000_000_000) - 1_000_000_000)),
    ],
    [
      'int8 → bigint',
      source('int8', 'N'),
      target('bigint', 'bigint(20)'),
      sample(() => String(int(2 ** 52) * 1000 + int(1000))),
    ],
    [
      'numeric(12,2) → decimal(12,2)',
      source('numeric', 'N', numericTypmod(12, 2)),
      target('decimal', 'decimal(12,2)', { precision: 12, scale: 2 }),
      sample(() => `${int(1_000_000)}.${pad(int(100))}`),
    ],
    [
      'numeric(18,6) → decimal(10,2)',
      source('numeric', 'N', numericTypmod(18, 6)),
      target('decimal', 'decimal(10,2)', { precision: 10, scale: 2 }),
      sample(() => `${int(1_000_000)}.${pad(int(1_000_000), 6)}`),
    ],
    [
      'float8 → double',
      source('float8', 'N'),
      target('double', 'double'),
      sample(() => String(next() * 1e6)),
    ],
    [
      'bool → tinyint(1)',
      source('bool', 'B'),
      target('tinyint', 'tinyint(1)'),
      sample(() => (next() < 0.5 ? 't' : 'f')),
    ],
    [
      'varchar → varchar(40)',
      source('varchar', 'S', 104),
      target('varchar', 'varchar(40)', { maxLength: 40 }),
      sample(() => `SO${int(1_000_000)}/${word()}`),
    ],
    [
      'text → text',
      source('text', 'S'),
      target('text', 'text', { maxLength: 65_535 }),
      sample(() => word().repeat(1 + int(20))),
    ],
    [
      'date → date',
      source('date', 'D'),
      target('date', 'date'),
      sample(() => `${1900 + int(200)}-${pad(1 + int(12))}-${pad(1 + int(28))}`),
    ],
    [
      'timestamp → datetime(6)',
      source('timestamp', 'D'),
      target('datetime', 'datetime(6)', { datetimePrecision: 6 }),
      sample(timestamp),
    ],
    [
      'timestamptz → datetime(6)',
      source('timestamptz', 'D'),
      target('datetime', 'datetime(6)', { datetimePrecision: 6 }),
      sample(() => `${timestamp()}+00`),
    ],
    [
      'uuid → char(36)',
      source('uuid', 'U'),
      target('char', 'char(36)', { maxLength: 36 }),
      sample(() => crypto.randomUUID()),
    ],
    [
      'jsonb → json',
      source('jsonb', 'U'),
      target('json', 'json', { isJson: true }),
      sample(() => JSON.stringify({ id: int(1000), name: word(), tags: [word(), word()] })),
    ],
    [
      'int4[] → json',
      source('_int4', 'A', -1, 'int4'),
      target('json', 'json', { isJson: true }),
      sample(() => `{${Array.from({ length: 1 + int(8) }, () => int(100_000)).join(',')}}`),
    ],
    [
      'text[] → json',
      source('_text', 'A', -1, 'text'),
      target('json', 'json', { isJson: true }),
      sample(
        () =>
          `{${Array.from({ length: 1 + int(5) }, () => (next() < 0.2 ? '"a,b \\"c\\""' : word() || 'x')).join(',')}}`,
      ),
    ],
    [
      'bytea → blob',
      source('bytea', 'U'),
      target('blob', 'blob', { maxLength: 65_535 }),
      sample(() => `\\x${Buffer.from(word().repeat(4)).toString('hex')}`),
    ],
    [
      'enum → enum',
      source('state', 'E'),
      target('enum', "enum('draft','sale','done','cancel')", {
        enumValues: ['draft', 'sale', 'done', 'cancel'],
      }),
      sample(() => ['draft', 'sale', 'done', 'cancel'][int(4)]!),
    ],
    [
      'timestamptz (+05:30) → datetime(6)',
      source('timestamptz', 'D'),
      target('datetime', 'datetime(6)', { datetimePrecision: 6 }),
      sample(() => `${timestamp()}+05:30`),
    ],
    [
      'derived text → decimal(20,4)',
      'text',
      target('decimal', 'decimal(20,4)', { precision: 20, scale: 4 }),
      sample(() => ` ${int(1_000_000)}.${int(1_000_000)}e-2 `),
    ],
    ['derived text → int', 'text', target('int', 'int(11)'), sample(() => String(int(1_000_000)))],
  ];

const rounds = 500_000;
for (const [name, from, to, values] of cases) {
  const convert = compileConversion(from, to, { mapping: 'bench', column: 'v' });
  let sink = 0;
  const run = (count: number) => {
    for (let i = 0; i < count; i++) if (convert(values[i % values.length]!) !== null) sink++;
  };
  run(50_000); // warm up: let the JIT settle before timing
  const started = performance.now();
  run(rounds);
  const seconds = (performance.now() - started) / 1000;
  if (sink === 0) throw new Error('nothing converted');
  process.stdout.write(
    `${name.padEnd(36)} ${Math.round(rounds / seconds)
      .toLocaleString('en-US')
      .padStart(12)} values/s\n`,
  );
}
