import { cannotStore, type FamilyPlanner, ok } from './conversion-plan.js';
import { jsonString } from './json-text.js';
import { planTextTarget } from './text-target-plan.js';

/**
 * Every other type (interval, inet, money, tsvector, ranges, geometric types, xml, bit, …)
 * travels as PostgreSQL's text form into a character column, or as a JSON string.
 */
export const planOtherConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'string':
      return planTextTarget(source, target);
    case 'json':
      return ok(() => jsonString);
    default:
      return cannotStore(
        source,
        target,
        `${source.label} travels as its text form: map it to a VARCHAR or TEXT column`,
      );
  }
};
