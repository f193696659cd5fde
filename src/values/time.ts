import { type FamilyPlanner, okUnless } from './conversion-plan.js';
import { jsonString } from './json-text.js';
import { compileTemporalTarget } from './temporal-target.js';
import { planTextOrJson } from './text-target-plan.js';
import { truncates } from './timestamps.js';

/**
 * time and timetz. Into TIME(p) with fractional seconds truncated to p digits; a timetz becomes
 * the UTC time of day (wrapping around midnight). `24:00:00` stays as is: TIME holds it. Into
 * text and JSON as PostgreSQL writes them.
 */
export const planTimeConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'time':
      return okUnless(
        [
          source.family === 'timetz' ? 'values are moved to the UTC time of day' : undefined,
          truncates(source.fsp, target.fsp),
        ],
        (site) => compileTemporalTarget(target, site, 'time', 'time', true),
      );
    default:
      return planTextOrJson(source, target, {
        json: jsonString,
        instead: 'map it to a TIME, text or JSON column',
      });
  }
};
