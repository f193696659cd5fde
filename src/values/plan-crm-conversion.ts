import type { CrmColumn, MesColumn } from './column-types.js';
import { type ConversionPlan, refuse } from './conversion-plan.js';
import { planCrmDocument } from './crm-documents.js';
import { planCrmNumber } from './crm-numbers.js';
import { type CrmPlanner, describeCrmSource } from './crm-source.js';
import { planCrmTemporal } from './crm-temporal.js';
import { planCrmText } from './crm-text.js';
import { describeSource, type SourceFamily } from './source-spec.js';

/** By the PostgreSQL target's family: the MES source's text forms differ less than the targets do. */
const planners: Readonly<Partial<Record<SourceFamily, CrmPlanner>>> = {
  integer: planCrmNumber,
  numeric: planCrmNumber,
  float: planCrmNumber,
  boolean: planCrmText,
  text: planCrmText,
  enum: planCrmText,
  uuid: planCrmText,
  date: planCrmTemporal,
  timestamp: planCrmTemporal,
  timestamptz: planCrmTemporal,
  time: planCrmTemporal,
  timetz: planCrmTemporal,
  json: planCrmDocument,
  bytea: planCrmDocument,
};

/**
 * How values of a MES column (MySQL text form), or derived text, go into a CRM column: the
 * verdict for `mappings check` and the builder, the to-crm counterpart of planConversion.
 */
export function planCrmConversion(source: MesColumn | 'text', target: CrmColumn): ConversionPlan {
  const sourceSpec = describeCrmSource(source);
  const targetSpec = describeSource(target.type);
  if (sourceSpec.kind === 'unsupported') {
    return refuse(
      `${sourceSpec.label} columns are not supported as a source; map a character, numeric, date/time, binary or JSON column`,
    );
  }
  const planner = planners[targetSpec.family];
  if (planner === undefined) {
    return refuse(
      `${targetSpec.label} columns are not supported as a to-crm target; use a character, numeric, boolean, date/time, uuid, json, bytea or enum column`,
    );
  }
  return planner(sourceSpec, targetSpec, target);
}
