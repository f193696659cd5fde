import type { FamilyPlanner } from './conversion-plan.js';
import { planTextOrJson } from './text-target-plan.js';

/**
 * json and jsonb. Into JSON columns (MySQL 8 JSON, MariaDB's checked LONGTEXT) as PostgreSQL
 * writes the document: already valid, so it is not parsed again on the hot path. Into text
 * columns the same text, length-checked.
 */
export const planJsonConversion: FamilyPlanner = (source, target) =>
  planTextOrJson(source, target, {
    json: passThrough,
    instead: 'map it to a JSON or LONGTEXT column (or extract a field with `path:`)',
  });

function passThrough(text: string): string {
  return text;
}
