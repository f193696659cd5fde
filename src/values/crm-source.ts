import type { CrmColumn, MesColumn } from './column-types.js';
import { type ConversionPlan, refuse } from './conversion-plan.js';
import type { SourceSpec } from './source-spec.js';
import { describeTarget, type TargetSpec } from './target-spec.js';

/** A value computed by a to-crm mapping (map, template, transform, const, JSON path). */
interface DerivedSource {
  readonly kind: 'derived';
  readonly label: 'derived text';
}

/**
 * What a to-crm conversion reads: a MES column classified like a MES staging column (the same
 * information_schema facts), or derived text. Values arrive in MySQL's text form: what a SELECT
 * of the column prints over the text protocol, binary as `\x` + hex.
 */
export type CrmSource = TargetSpec | DerivedSource;

/** The planner of one PostgreSQL target type family (the target classified by describeSource). */
export type CrmPlanner = (
  source: CrmSource,
  target: SourceSpec,
  column: CrmColumn,
) => ConversionPlan;

/** Classifies a MES column (or 'text') once, for planning. */
export function describeCrmSource(source: MesColumn | 'text'): CrmSource {
  return source === 'text' ? { kind: 'derived', label: 'derived text' } : describeTarget(source);
}

/** Text-like sources: whatever they hold must be parsed for a typed target. */
export function isTextual(source: CrmSource): boolean {
  return source.kind === 'derived' || source.kind === 'string' || source.kind === 'enum';
}

/** The integer range of a numeric source whose values are integers, else undefined. */
export function integerRange(source: CrmSource): readonly [bigint, bigint] | undefined {
  switch (source.kind) {
    case 'integer':
      return [source.min, source.max];
    case 'bit':
      return [0n, (1n << BigInt(source.bits)) - 1n];
    case 'year':
      return [0n, 2155n];
    case 'decimal':
      if (source.scale > 0) return undefined;
      return [-(10n ** BigInt(source.precision) - 1n), 10n ** BigInt(source.precision) - 1n];
    default:
      return undefined;
  }
}

/** The usual refusal: `json cannot be stored in integer`, with what would work instead. */
export function cannotWrite(
  source: CrmSource,
  target: SourceSpec,
  instead: string,
): ConversionPlan {
  return refuse(`${source.label} cannot be stored in ${target.label}; ${instead}`);
}

/** Longest text form of a MES source in characters; undefined when unbounded or not known. */
export function crmSourceChars(source: CrmSource): number | undefined {
  switch (source.kind) {
    case 'string':
      return source.maxChars ?? source.maxBytes ?? undefined;
    case 'enum':
      return Math.max(0, ...source.labels.map((label) => [...label].length));
    case 'integer':
      return Math.max(String(source.min).length, String(source.max).length);
    case 'decimal':
      return source.precision + 3;
    case 'float':
      return 24;
    case 'date':
      return 10;
    case 'year':
      return 4;
    case 'bit':
      return 20;
    case 'datetime':
    case 'timestamp':
      return 19 + (source.fsp > 0 ? source.fsp + 1 : 0);
    case 'time':
      return 10 + (source.fsp > 0 ? source.fsp + 1 : 0);
    default:
      return undefined;
  }
}

/** The longest text a value of a MES column can have, in characters (for template bounds). */
export function mesTextLength(column: MesColumn): number | undefined {
  return crmSourceChars(describeTarget(column));
}
