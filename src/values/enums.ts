import { type FamilyPlanner, ok } from './conversion-plan.js';
import { jsonString } from './json-text.js';
import { compileStringTarget } from './string-target.js';
import { planTextOrJson } from './text-target-plan.js';

/**
 * Enum types. Into ENUM columns label for label, each value checked against the column's
 * labels (the source's labels are not known here, so `mappings check` cannot compare them);
 * into text columns as the label; into JSON as a string.
 */
export const planEnumConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'enum':
      return ok(
        (site) => compileStringTarget(target, site),
        'each value must be a label of the column',
      );
    default:
      return planTextOrJson(source, target, {
        json: jsonString,
        instead: 'map it to an ENUM, VARCHAR or JSON column',
      });
  }
};
