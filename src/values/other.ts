import type { FamilyPlanner } from './conversion-plan.js';
import { jsonString } from './json-text.js';
import { planTextOrJson } from './text-target-plan.js';

/**
 * Every other type (interval, inet, money, tsvector, ranges, geometric types, xml, bit, …)
 * travels as PostgreSQL's text form into a character column, or as a JSON string.
 */
export const planOtherConversion: FamilyPlanner = (source, target) =>
  planTextOrJson(source, target, {
    json: jsonString,
    instead: `${source.label} travels as its text form: map it to a VARCHAR or TEXT column`,
  });
