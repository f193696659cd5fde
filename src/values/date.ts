import { type FamilyPlanner, ok, warning } from './conversion-plan.js';
import { jsonString } from './json-text.js';
import { compileTemporalTarget } from './temporal-target.js';
import { planTextOrJson } from './text-target-plan.js';

/** Why a TIMESTAMP column is a risk for any date/time source. */
export const timestampColumnReason =
  'TIMESTAMP holds 1970-01-01 00:00:01..2038-01-19 03:14:07 UTC only (others are rejected) and is read in the session time zone; prefer DATETIME';

/**
 * date. Into DATE as is, into DATETIME at midnight; years 1..9999 only, so `infinity`, BC dates
 * and years past 9999 are rejected. Into text and JSON as PostgreSQL writes it (YYYY-MM-DD).
 */
export const planDateConversion: FamilyPlanner = (source, target) => {
  switch (target.kind) {
    case 'date':
    case 'datetime':
      return ok((site) => compileTemporalTarget(target, site, 'moment', 'date', true));
    case 'timestamp':
      return warning(timestampColumnReason, (site) =>
        compileTemporalTarget(target, site, 'moment', 'date', true),
      );
    default:
      return planTextOrJson(source, target, {
        json: jsonString,
        instead: 'map it to a DATE, DATETIME, text or JSON column',
      });
  }
};
