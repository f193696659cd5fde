import { planArrayConversion } from './arrays.js';
import { planBooleanConversion } from './boolean.js';
import { planByteaConversion } from './bytea.js';
import type { SourceType, TargetColumn } from './column-types.js';
import { type ConversionPlan, type FamilyPlanner, refuse } from './conversion-plan.js';
import { planDateConversion } from './date.js';
import { planEnumConversion } from './enums.js';
import { planFloatConversion } from './floats.js';
import { planIntegerConversion } from './integers.js';
import { planJsonConversion } from './json.js';
import { planNumericConversion } from './numeric.js';
import { planOtherConversion } from './other.js';
import { describeSource, type SourceFamily } from './source-spec.js';
import { describeTarget } from './target-spec.js';
import { planTextConversion } from './text.js';
import { planTimeConversion } from './time.js';
import { planTimestampConversion } from './timestamps.js';
import { planUuidConversion } from './uuid.js';

const planners: Readonly<Record<SourceFamily, FamilyPlanner>> = {
  integer: planIntegerConversion,
  numeric: planNumericConversion,
  float: planFloatConversion,
  boolean: planBooleanConversion,
  text: planTextConversion,
  date: planDateConversion,
  timestamp: planTimestampConversion,
  timestamptz: planTimestampConversion,
  time: planTimeConversion,
  timetz: planTimeConversion,
  uuid: planUuidConversion,
  json: planJsonConversion,
  array: planArrayConversion,
  bytea: planByteaConversion,
  enum: planEnumConversion,
  other: planOtherConversion,
};

/** How values of `source` go into `target`: the verdict for `mappings check` and the builder. */
export function planConversion(source: SourceType | 'text', target: TargetColumn): ConversionPlan {
  const targetSpec = describeTarget(target);
  if (targetSpec.kind === 'unsupported') {
    return refuse(
      `${targetSpec.label} columns are not supported; use a character, numeric, date/time, binary or JSON column`,
    );
  }
  const sourceSpec = describeSource(source);
  return planners[sourceSpec.family](sourceSpec, targetSpec);
}
