import {
  type ConversionPlan,
  cannotStore,
  ok,
  okUnless,
  type TextConverter,
  warning,
} from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { jsonNumber } from './json-text.js';
import type { SourceSpec } from './source-spec.js';
import { compileStringTarget } from './string-target.js';
import type { EnumTarget, StringTarget, TargetSpec } from './target-spec.js';

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

/** The targets most families treat alike, and what to say when the column is none of them. */
interface TextOrJson {
  /** The JSON text of a value (a JSON number or string). */
  readonly json: TextConverter;
  /** What would work instead, for the refusal of any other column. */
  readonly instead: string;
  /** ENUM columns take the text form too (numbers); otherwise they are refused. */
  readonly enumAsText?: boolean;
}

/**
 * Character columns get the value's text form, JSON columns `json` of it; every other column is
 * refused with `instead`. Each family plans its own column kinds first and leaves the rest here.
 */
export function planTextOrJson(
  source: SourceSpec,
  target: TargetSpec,
  { json, instead, enumAsText = false }: TextOrJson,
): ConversionPlan {
  if (target.kind === 'string' || (enumAsText && target.kind === 'enum'))
    return planTextTarget(source, target);
  if (target.kind === 'json') return ok(() => json);
  return cannotStore(source, target, instead);
}

/** The same for numbers: text and ENUM columns get the digits, JSON columns a JSON number. */
export function planNumberAsText(
  source: SourceSpec,
  target: TargetSpec,
  instead: string,
): ConversionPlan {
  return planTextOrJson(source, target, { json: jsonNumber, instead, enumAsText: true });
}
