import type { MappingOutline } from './compiled-mapping.js';

/**
 * A mapping as loaded from YAML and validated without any database: the shape the compiler and
 * `mappings check` work from. Literal values are already in text form (what the rule writes);
 * `fields` remembers where each field sits in the YAML file, for messages.
 */
export interface MappingSpec extends MappingOutline {
  /** Target key column ← source column, in YAML order. */
  readonly key: readonly KeySpec[];
  /** Target column ← rule, in YAML order. */
  readonly columns: readonly ColumnSpec[];
  readonly filter?: FilterSpec;
  /** Field path (`columns.state.map`) → line in the file, for messages. */
  readonly lines: ReadonlyMap<string, number>;
}

export interface KeySpec {
  readonly target: string;
  readonly from: string;
}

export interface ColumnSpec {
  readonly target: string;
  readonly rule: ColumnRule;
}

/**
 * - `copy`: the source column's value, converted from its PostgreSQL type; `default` (when set)
 *   replaces NULL and is read as a value of that type.
 * - `derive`: `from` read as text, then `path` (JSON), then `map`, then `default` for what is
 *   still missing, then the transforms. Converted from text.
 * - `template`: `{column}` placeholders; NULL when any placeholder is NULL (then `default`).
 * - `const`: one value for every row.
 */
export type ColumnRule = CopyRule | DeriveRule | TemplateRule | ConstRule;

export interface CopyRule {
  readonly kind: 'copy';
  readonly from: string;
  /** Present when the YAML sets `default` (null is a legal default). */
  readonly default?: string | null;
}

export interface DeriveRule {
  readonly kind: 'derive';
  readonly from: string;
  readonly path?: readonly string[];
  /** Source text → target text (null writes NULL). */
  readonly map?: ReadonlyMap<string, string | null>;
  readonly default?: string | null;
  readonly transform: readonly Transform[];
}

export interface TemplateRule {
  readonly kind: 'template';
  readonly parts: readonly TemplatePart[];
  readonly default?: string | null;
  readonly transform: readonly Transform[];
}

interface ConstRule {
  readonly kind: 'const';
  readonly value: string | null;
}

export type TemplatePart =
  | { readonly kind: 'text'; readonly text: string }
  | { readonly kind: 'column'; readonly column: string };

export type Transform =
  | { readonly kind: 'trim' }
  | { readonly kind: 'upper' }
  | { readonly kind: 'lower' }
  | { readonly kind: 'truncate'; readonly length: number };

export type FilterOperator = 'eq' | 'ne' | 'in' | 'notIn' | 'gt' | 'gte' | 'lt' | 'lte' | 'isNull';

/** A filter tree. The top-level YAML map and every condition with several operators are `all`. */
export type FilterSpec =
  | { readonly kind: 'all'; readonly items: readonly FilterSpec[]; readonly field: string }
  | { readonly kind: 'any'; readonly items: readonly FilterSpec[]; readonly field: string }
  | FilterCondition;

export interface FilterCondition {
  readonly kind: 'condition';
  readonly column: string;
  readonly op: FilterOperator;
  /** Text literal for eq/ne/gt/gte/lt/lte, a list for in/notIn, a boolean for isNull. */
  readonly value: string | readonly string[] | boolean;
  /** Where it is in the YAML (`filter.state.notIn`), for messages. */
  readonly field: string;
}

/** Every condition of a filter tree, depth first. */
export function filterConditions(filter: FilterSpec | undefined): readonly FilterCondition[] {
  if (filter === undefined) return [];
  if (filter.kind === 'condition') return [filter];
  return filter.items.flatMap(filterConditions);
}
