import { describe, expect, it } from 'vitest';
import { compareText, numericKey, valueOrder } from '../../src/mapping/value-order.js';
import type { SourceType } from '../../src/values/column-types.js';

const type = (name: string, category = 'N'): SourceType => ({ name, oid: 0, category, typmod: -1 });

/** Sorts texts by their order keys; the keys' plain string order must be the value order. */
function sortBy(order: ReturnType<typeof valueOrder>, texts: readonly string[]): string[] {
  return [...texts].sort((a, b) => compareText(order.key(a)!, order.key(b)!));
}

describe('filter value order', () => {
  it('orders numbers by value, exactly, with PostgreSQL NaN and infinities', () => {
    const ascending = [
      '-Infinity',
      '-1e+20',
      '-100',
      '-1.5',
      '-1.05',
      '-0.000123',
      '0',
      '0.000123',
      '1.05',
      '1.5',
      '99.999',
      '100',
      '1e19',
      '12345678901234567890.000000000000000001',
      '12345678901234567890.000000000000000002',
      'Infinity',
      'NaN',
    ];
    const shuffled = [...ascending.slice(8), ...ascending.slice(0, 8).reverse()];
    expect(sortBy(valueOrder(type('numeric')), shuffled)).toEqual(ascending);
    expect(numericKey('1.50')).toBe(numericKey('1.5'));
    expect(numericKey('0.0')).toBe(numericKey('-0'));
    expect(numericKey('1e2')).toBe(numericKey('100'));
    expect(numericKey('12abc')).toBeUndefined();
  });

  it('orders timestamptz by instant, whatever the offset', () => {
    const order = valueOrder(type('timestamptz', 'D'));
    expect(order.key('2024-01-01 10:00:00+00')).toBe(order.key('2024-01-01T11:00:00+01:00'));
    expect(order.key('2024-01-01 10:00:00+00')).toBe(order.key('2024-01-01T10:00:00Z'));
    expect(order.key('2024-01-01 10:00:00.5+00')).toBe(order.key('2024-01-01 10:00:00.500000+00'));
    expect(
      sortBy(order, [
        '2024-01-01 00:30:00+00',
        '2024-01-01T01:00:00+02',
        'infinity',
        '-infinity',
        '2024-01-01',
      ]),
    ).toEqual([
      '-infinity',
      '2024-01-01T01:00:00+02',
      '2024-01-01',
      '2024-01-01 00:30:00+00',
      'infinity',
    ]);
    expect(order.key('yesterday')).toBeUndefined();
  });

  it('orders timestamp without offsets, dates with BC before AD, times', () => {
    const timestamp = valueOrder(type('timestamp', 'D'));
    expect(timestamp.key('2024-01-01T10:00:00+01:00')).toBeUndefined();
    expect(timestamp.key('2024-01-01 10:00')).toBe(timestamp.key('2024-01-01 10:00:00.000000'));
    const date = valueOrder(type('date', 'D'));
    expect(sortBy(date, ['2024-02-01', '0044-03-15 BC', '10000-01-01', '0001-01-01'])).toEqual([
      '0044-03-15 BC',
      '0001-01-01',
      '2024-02-01',
      '10000-01-01',
    ]);
    expect(date.key('2024-02-01 10:00')).toBeUndefined();
    const time = valueOrder(type('time', 'D'));
    expect(sortBy(time, ['10:00:00.5', '09:59', '10:00'])).toEqual([
      '09:59',
      '10:00',
      '10:00:00.5',
    ]);
  });

  it('reads booleans in every spelling, false before true', () => {
    const order = valueOrder(type('bool', 'B'));
    expect(['t', 'true', 'yes', 'on', '1'].map(order.key)).toEqual(['t', 't', 't', 't', 't']);
    expect(['f', 'FALSE', 'no', 'off', '0'].map(order.key)).toEqual(['f', 'f', 'f', 'f', 'f']);
    expect(order.key('maybe')).toBeUndefined();
  });

  it('orders text by code point (UTF-8 byte order), not by UTF-16 unit', () => {
    const order = valueOrder(type('text', 'S'));
    // U+FF5E (a BMP character) sorts before U+1F600 (an emoji, a surrogate pair in UTF-16).
    expect(sortBy(order, ['😀', '～', 'b', 'B', 'a'])).toEqual(['B', 'a', 'b', '～', '😀']);
    expect(compareText('abc', 'abcd')).toBeLessThan(0);
    expect(compareText('abc', 'abc')).toBe(0);
  });
});
