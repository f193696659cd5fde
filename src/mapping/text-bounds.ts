import type { SourceType } from '../values/column-types.js';
import type { Transform } from './mapping-spec.js';

/** Longest text form, in characters, of source types whose text is bounded (for templates). */
const textLengths: Readonly<Record<string, number>> = {
  int2: 6,
  int4: 11,
  int8: 20,
  oid: 10,
  float4: 15,
  float8: 24,
  bool: 1,
  date: 13,
  time: 15,
  timestamp: 32,
  timestamptz: 35,
  uuid: 36,
};

/** The longest text a value of `type` can have, in characters; undefined when unbounded. */
export function maxTextLength(type: SourceType): number | undefined {
  if ((type.name === 'varchar' || type.name === 'bpchar') && type.typmod >= 4)
    return type.typmod - 4;
  if (type.name === 'numeric' && type.typmod >= 4) {
    const precision = ((type.typmod - 4) >> 16) & 0xffff;
    const scale = (((type.typmod - 4) & 0x7ff) ^ 1024) - 1024;
    // Sign, point, a leading zero when every digit is fractional, zeros of a negative scale.
    return precision + 3 + Math.max(0, scale - precision) + Math.max(0, -scale);
  }
  return textLengths[type.name];
}

/** The bound after the transforms of a rule. */
export function transformBound(
  bound: number | undefined,
  transforms: readonly Transform[],
): number | undefined {
  let result = bound;
  for (const transform of transforms) {
    // One character can upper-case into three (ΐ → Ϊ́): a safe bound, not a tight one.
    if (transform.kind === 'upper' || transform.kind === 'lower')
      result = result === undefined ? undefined : result * 3;
    if (transform.kind === 'truncate')
      result = result === undefined ? transform.length : Math.min(result, transform.length);
  }
  return result;
}

/** A bound that also covers the rule's default (whose text is written as is). */
export function withDefaultBound(
  bound: number | undefined,
  fallback: string | null | undefined,
): number | undefined {
  return fallback === undefined || bound === undefined
    ? bound
    : Math.max(bound, fallback?.length ?? 0);
}
