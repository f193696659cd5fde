import type { CrmColumn, MesColumn, SourceType, TargetColumn } from './column-types.js';
import type { Compatibility, ConversionPlan } from './conversion-plan.js';
import { planConversion } from './plan-conversion.js';
import { planCrmConversion } from './plan-crm-conversion.js';

function verdictOf({ level, reason }: ConversionPlan): Compatibility {
  return Object.freeze(reason === undefined ? { level } : { level, reason });
}

/**
 * The verdict `mappings check` prints for a mapped column, e.g. `warning: values with more than
 * 2 decimals are rounded half away from zero` for numeric(18,6) into DECIMAL(10,2). Exactly the
 * pairs reported as `error` are the ones compileConversion refuses.
 */
export function checkCompatibility(
  source: SourceType | 'text',
  target: TargetColumn,
): Compatibility {
  return verdictOf(planConversion(source, target));
}

/** The to-crm counterpart: a MES column (or derived text) into a CRM column. */
export function checkCrmCompatibility(
  source: MesColumn | 'text',
  target: CrmColumn,
): Compatibility {
  return verdictOf(planCrmConversion(source, target));
}
