import type { SourceType, TargetColumn } from './column-types.js';
import { planConversion } from './plan-conversion.js';

/** Whether a source type's values can go into a target column, and what to watch for. */
export interface Compatibility {
  /** ok: converts as is; warning: some values are rejected or change form; error: cannot work. */
  readonly level: 'ok' | 'warning' | 'error';
  /** Why, for warnings and errors (and a note on some ok pairs). */
  readonly reason?: string;
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
  const { level, reason } = planConversion(source, target);
  return Object.freeze(reason === undefined ? { level } : { level, reason });
}
