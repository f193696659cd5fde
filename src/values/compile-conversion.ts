import { ConfigError } from '../errors/millrace-error.js';
import type {
  CrmColumn,
  MesColumn,
  SourceType,
  TargetColumn,
  TargetValue,
} from './column-types.js';
import type { ConversionPlan } from './conversion-plan.js';
import type { ConversionSite } from './conversion-site.js';
import { planConversion } from './plan-conversion.js';
import { planCrmConversion } from './plan-crm-conversion.js';

/** Source text form (or null) → the parameter bound for the target column. */
export type Conversion = (text: string | null) => TargetValue;

/** The plan's converter with the null check around it, or the plan's refusal. */
function buildConversion(plan: ConversionPlan, site: ConversionSite): Conversion {
  if (plan.build === undefined) {
    throw new ConfigError(
      'MAPPING_TYPE_MISMATCH',
      `${site.mapping}.${site.column}: ${plan.reason}`,
      {
        context: { mapping: site.mapping, column: site.column },
      },
    );
  }
  const convert = plan.build(Object.freeze({ mapping: site.mapping, column: site.column }));
  return (text) => (text === null ? null : convert(text));
}

/**
 * Compiles the conversion of values of `source` into `target`, once per mapped column: the
 * result is a closure that never looks at type names again. 'text' = a derived value (from
 * map/template/transform/const/JSON path): arbitrary text parsed per target type.
 *
 * The closure returns null for null, and throws ValueError (`VALUE_INVALID`, `VALUE_TOO_LONG`,
 * `VALUE_OUT_OF_RANGE`) for a value the column cannot hold; it never cuts or clamps one.
 * Throws ConfigError `MAPPING_TYPE_MISMATCH` right away for a pair checkCompatibility calls an
 * error (e.g. jsonb into INT).
 */
export function compileConversion(
  source: SourceType | 'text',
  target: TargetColumn,
  site: ConversionSite,
): Conversion {
  return buildConversion(planConversion(source, target), site);
}

/**
 * The to-crm counterpart: MySQL's text form of a MES column (or derived text) into the
 * PostgreSQL parameter for a CRM column (text the column's type parses exactly, a Buffer for
 * bytea). Same contract as compileConversion.
 */
export function compileCrmConversion(
  source: MesColumn | 'text',
  target: CrmColumn,
  site: ConversionSite,
): Conversion {
  return buildConversion(planCrmConversion(source, target), site);
}
