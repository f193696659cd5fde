import type { SourceType, TargetColumn } from './column-types.js';
import type { Compatibility } from './conversion-plan.js';
import { planConversion } from './plan-conversion.js';

/**
 * The verdict `mappings check` prints for a mapped column, e.g. `warning: values with more than
 * 2 decimals are rounded half away from zero` for numeric(18,6) into DECIMAL(10,2). Exactly the
 * pairs reported as `error` are the ones compileConversion refuses.
 */
export function checkCompatibility(
  source: SourceType | 'text',
  target: TargetColumn,
): Compatibility {
  const { level, reason } = planConversion(source, target);
  return Object.freeze(reason === undefined ? { level } : { level, reason });
}
