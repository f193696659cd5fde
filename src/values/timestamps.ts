import { type FamilyPlanner, okUnless, warning } from './conversion-plan.js';
import { timestampColumnReason } from './date.js';
import { jsonString } from './json-text.js';
import { compileTemporalTarget } from './temporal-target.js';
import { planTextOrJson } from './text-target-plan.js';

/**
 * timestamp and timestamptz. Into DATETIME(p) as `YYYY-MM-DD HH:MM:SS[.f]`, timestamptz moved
 * to UTC by the offset in its text (whatever the session's zone), fractional seconds truncated
 * to p digits. Infinities, BC and years past 9999 are rejected. Into DATE or TIME the UTC date
 * or time of day; into text and JSON as PostgreSQL writes them.
 */
export const planTimestampConversion: FamilyPlanner = (source, target) => {
  const what = source.family === 'timestamptz' ? 'timestamp with time zone' : 'timestamp';
  const utc = source.family === 'timestamptz' ? 'the UTC ' : 'the ';
  switch (target.kind) {
    case 'datetime':
      return okUnless([truncates(source.fsp, target.fsp)], (site) =>
        compileTemporalTarget(target, site, 'moment', what, true),
      );
    case 'timestamp':
      return warning(
        [timestampColumnReason, truncates(source.fsp, target.fsp)].filter(Boolean).join('; '),
        (site) => compileTemporalTarget(target, site, 'moment', what, true),
      );
    case 'date':
      return warning(`only ${utc}date is kept`, (site) =>
        compileTemporalTarget(target, site, 'moment', what, true),
      );
    case 'time':
      return warning(
        [`only ${utc}time of day is kept`, truncates(source.fsp, target.fsp)]
          .filter(Boolean)
          .join('; '),
        (site) => compileTemporalTarget(target, site, 'moment', what, true),
      );
    default:
      return planTextOrJson(source, target, {
        json: jsonString,
        instead: 'map it to a DATETIME, text or JSON column',
      });
  }
};

/** Why fractional seconds may be cut, if they may. */
export function truncates(sourceFsp: number, targetFsp: number): string | undefined {
  return sourceFsp > targetFsp
    ? `fractional seconds beyond ${targetFsp} digits are truncated`
    : undefined;
}
