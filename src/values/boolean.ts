import {
  cannotStore,
  type FamilyPlanner,
  ok,
  okUnless,
  type TextConverter,
  warning,
} from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { failValue } from './fail-value.js';
import { compileNumberTarget, type NumberTarget } from './number-target.js';
import type { TargetSpec } from './target-spec.js';
import { planTextTarget } from './text-target-plan.js';

/**
 * boolean. Into integer, BIT, DECIMAL and FLOAT columns as 1/0; into text and JSON as
 * `true`/`false`, which is what PostgreSQL's own cast to text gives (its output form is t/f).
 */
export const planBooleanConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'integer':
    case 'bit':
    case 'float':
      return ok((site) => compileBooleanNumber(target, site));
    case 'decimal':
      return okUnless(
        [target.precision - target.scale < 1 ? `true (1) does not fit ${target.label}` : undefined],
        (site) => compileBooleanNumber(target, site),
      );
    case 'string':
      return planTextTarget(source, target, booleanWord);
    case 'enum':
      return warning(
        `'true' and 'false' must be labels of ${target.label}`,
        planTextTarget(source, target, booleanWord).build!,
      );
    case 'json':
      return ok(booleanWord);
    default:
      return cannotStore(source, target, 'map it to a TINYINT(1), BIT(1), text or JSON column');
  }
};

function compileBooleanNumber(
  target: NumberTarget & TargetSpec,
  site: ConversionSite,
): TextConverter {
  if (target.kind === 'integer') {
    const [yes, no] = target.asString ? ['1', '0'] : [1, 0];
    return (text) => (isTrue(text, site) ? yes : no);
  }
  const number = compileNumberTarget(target, site);
  return (text) => number(isTrue(text, site) ? '1' : '0');
}

/** `true`/`false` for t/f, as PostgreSQL's `boolean::text` writes them (also JSON's spelling). */
function booleanWord(site: ConversionSite): (text: string) => string {
  return (text) => (isTrue(text, site) ? 'true' : 'false');
}

function isTrue(text: string, site: ConversionSite): boolean {
  if (text === 't' || text === 'true') return true;
  if (text === 'f' || text === 'false') return false;
  return failValue(site, 'VALUE_INVALID', text, 'is not a boolean');
}
