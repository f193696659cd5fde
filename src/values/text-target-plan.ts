import type { ConversionSite } from './compile-conversion.js';
import { type ConversionPlan, okUnless, type TextConverter, warning } from './conversion-plan.js';
import type { SourceSpec } from './source-spec.js';
import { compileStringTarget } from './string-target.js';
import type { EnumTarget, StringTarget } from './target-spec.js';

/** PostgreSQL's limit for one field, in bytes: a TEXT type at least this big holds anything. */
const pgFieldLimit = 1_073_741_823;

/**
 * The plan for a value's text form going into a character or ENUM column. `toText` builds what
 * turns the PostgreSQL text into the stored text (e.g. `t` into `true`); identity when absent.
 */
export function planTextTarget(
  source: SourceSpec,
  target: StringTarget | EnumTarget,
  toText?: (site: ConversionSite) => (text: string) => string,
): ConversionPlan {
  const build = (site: ConversionSite): TextConverter => {
    const store = compileStringTarget(target, site);
    if (toText === undefined) return store;
    const prepare = toText(site);
    return (text) => store(prepare(text));
  };
  if (target.kind === 'enum')
    return warning(`values must be labels of ${target.label}; others are rejected`, build);
  // A derived value's length is unknowable here; each value is checked as it comes.
  return okUnless([source.derived ? undefined : textFits(source.maxChars, target)], build);
}

/** Why values of at most `maxChars` characters (undefined: unbounded) may not fit; undefined if they do. */
export function textFits(maxChars: number | undefined, target: StringTarget): string | undefined {
  if (target.maxChars !== null) {
    return maxChars === undefined || maxChars > target.maxChars
      ? `values longer than ${target.maxChars} characters are rejected`
      : undefined;
  }
  const limit = target.maxBytes!;
  const bytes = maxChars === undefined ? pgFieldLimit : maxChars * 4;
  return bytes > limit ? `values longer than ${limit} bytes are rejected` : undefined;
}
