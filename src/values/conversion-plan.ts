import type { TargetValue } from './column-types.js';
import type { ConversionSite } from './conversion-site.js';
import type { SourceSpec } from './source-spec.js';
import type { TargetSpec } from './target-spec.js';

/** Whether a source type's values can go into a target column, and what to watch for. */
export interface Compatibility {
  /** ok: converts as is; warning: some values are rejected or change form; error: cannot work. */
  readonly level: 'ok' | 'warning' | 'error';
  /** Why, for warnings and errors (and a note on some ok pairs). */
  readonly reason?: string;
}

/** Converts a non-null text value; compileConversion adds the null check around it. */
export type TextConverter = (text: string) => TargetValue;

/**
 * What a (source, target) pair allows, and how to build its converter. One object answers both
 * `mappings check` and the compiler, so the two cannot disagree: a pair has a builder exactly
 * when it is not an error.
 */
export interface ConversionPlan extends Compatibility {
  readonly build?: (site: ConversionSite) => TextConverter;
}

/** The planner of one source type family. */
export type FamilyPlanner = (source: SourceSpec, target: TargetSpec) => ConversionPlan;

/** A pair that converts without surprises. */
export function ok(
  build: (site: ConversionSite) => TextConverter,
  reason?: string,
): ConversionPlan {
  return reason === undefined ? { level: 'ok', build } : { level: 'ok', reason, build };
}

/** A pair that converts, but where some values are rejected or change form. */
export function warning(
  reason: string,
  build: (site: ConversionSite) => TextConverter,
): ConversionPlan {
  return { level: 'warning', reason, build };
}

/** A pair that cannot work; compileConversion refuses it. */
export function refuse(reason: string): ConversionPlan {
  return { level: 'error', reason };
}

/** `ok`, or `warning` with every reason that applies, joined. */
export function okUnless(
  reasons: readonly (string | undefined)[],
  build: (site: ConversionSite) => TextConverter,
): ConversionPlan {
  const found = reasons.filter((reason): reason is string => reason !== undefined);
  return found.length === 0 ? ok(build) : warning(found.join('; '), build);
}

/** The usual refusal: `jsonb cannot be stored in int(11)`, with what would work instead. */
export function cannotStore(
  source: SourceSpec,
  target: TargetSpec,
  instead: string,
): ConversionPlan {
  return refuse(`${source.label} cannot be stored in ${target.label}; ${instead}`);
}
