import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileComparable } from '../../src/audit/comparable.js';
import { compileCanonical } from '../../src/values/canonical.js';
import type { TargetColumn } from '../../src/values/column-types.js';

function column(overrides: Partial<TargetColumn>): TargetColumn {
  return {
    name: 'c',
    dataType: 'varchar',
    columnType: 'varchar(20)',
    maxLength: null,
    precision: null,
    scale: null,
    datetimePrecision: null,
    unsigned: false,
    nullable: true,
    isJson: false,
    ...overrides,
  };
}

const columns: readonly TargetColumn[] = [
  column({ dataType: 'decimal', columnType: 'decimal(12,2)', precision: 12, scale: 2 }),
  column({ dataType: 'decimal', columnType: 'decimal(10,0)', precision: 10, scale: 0 }),
  column({ dataType: 'datetime', columnType: 'datetime(6)', datetimePrecision: 6 }),
  column({ dataType: 'datetime', columnType: 'datetime', datetimePrecision: 0 }),
  column({ dataType: 'timestamp', columnType: 'timestamp(3)', datetimePrecision: 3 }),
  column({ dataType: 'char', columnType: 'char(5)', maxLength: 5 }),
  column({ dataType: 'varchar', columnType: 'varchar(20)', maxLength: 20 }),
  column({ dataType: 'enum', columnType: "enum('a','b')", enumValues: ['a', 'b'] }),
  column({ dataType: 'int', columnType: 'int(11)' }),
  column({ dataType: 'bigint', columnType: 'bigint(20)' }),
];

/** Strings shaped like what converters and mysql2 produce, and near misses. */
const values = fc.oneof(
  fc.constantFrom(
    '0',
    '-0',
    '-0.00',
    '0.00',
    '00.50',
    '1.5',
    '1.50',
    '-1.50',
    '1e2',
    ' 1.00',
    '1.005',
  ),
  fc
    .tuple(fc.boolean(), fc.nat(), fc.nat(999))
    .map(
      ([negative, whole, fraction]) =>
        `${negative ? '-' : ''}${whole}.${String(fraction).padStart(2, '0')}`,
    ),
  fc.integer().map(String),
  fc.integer(),
  fc.double({ noNaN: true }),
  fc
    .date({ min: new Date('0100-01-01'), max: new Date('9999-12-31'), noInvalidDate: true })
    .map((date) => date.toISOString().replace('T', ' ').replace('Z', '')),
  fc.constantFrom(
    '2024-01-01 00:00:00',
    '2024-01-01 00:00:00.5',
    '2024-01-01 00:00:00.123456',
    '2024-01-01T00:00:00',
  ),
  fc.string(),
  fc.constantFrom('ab ', 'ab  ', ' ab', ''),
  fc.constant(null),
);

describe('compileComparable', () => {
  it('agrees with compileCanonical on every value, shortcut or not', () => {
    for (const target of columns) {
      const fast = compileComparable(target);
      const slow = compileCanonical(target);
      fc.assert(
        fc.property(values, (value) => {
          expect(fast(value)).toBe(slow(value));
        }),
        { numRuns: 2_000 },
      );
    }
  });
});
