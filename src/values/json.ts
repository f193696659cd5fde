import { cannotStore, type FamilyPlanner, ok } from './conversion-plan.js';
import { planTextTarget } from './text-target-plan.js';

/**
 * json and jsonb. Into JSON columns (MySQL 8 JSON, MariaDB's checked LONGTEXT) as PostgreSQL
 * writes the document: already valid, so it is not parsed again on the hot path. Into text
 * columns the same text, length-checked.
 */
export const planJsonConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'json':
      return ok(() => passThrough);
    case 'string':
      return planTextTarget(source, target);
    default:
      return cannotStore(
        source,
        target,
        'map it to a JSON or LONGTEXT column (or extract a field with `path:`)',
      );
  }
};

function passThrough(text: string): string {
  return text;
}
