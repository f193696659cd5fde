import type { Conversion } from '../values/compile-conversion.js';
import type { Compatibility } from '../values/conversion-plan.js';
import type { ConversionSite } from '../values/conversion-site.js';
import type { MetaColumn } from './metadata-values.js';
import type { ValueOrder } from './value-order.js';

/** Which way a mapping runs: CRM → MES (the default) or MES → CRM. */
export type Direction = 'to-mes' | 'to-crm';

/** The least a target column description has. */
export interface NamedColumn {
  readonly name: string;
}

/** A text length limit of a target column, in the unit the column counts. */
type TextLimit =
  | { readonly chars: number; readonly bytes?: undefined }
  | { readonly bytes: number; readonly chars?: undefined };

/**
 * Everything the mapping compiler and its checks need to know about the column types of one
 * direction: `S` describes a source column's type, `T` a target column. The resolve, check and
 * compile code is the same for both directions and asks only this.
 */
export interface DirectionTypes<S, T extends NamedColumn> {
  /** How messages name each side's database: `the CRM`, `the MES database`. */
  readonly sourceSide: string;
  readonly targetSide: string;
  /** A source column's type as people write it: `numeric(18,6)`, `decimal(12,4)`. */
  describeSource(type: S): string;
  /** How filters and map keys compare values of the type. */
  sourceOrder(type: S): ValueOrder;
  /** Whether `path:` can read the column as a JSON document. */
  sourceIsJson(type: S): boolean;
  /** The longest text form of a value of the type, in characters; undefined when unbounded. */
  sourceTextLength(type: S): number | undefined;
  /** The values module's verdict for a (source type or derived text, target column) pair. */
  compatibility(source: S | 'text', target: T): Compatibility;
  /** The pair's compiled conversion; throws ConfigError for a pair `compatibility` calls an error. */
  compile(source: S | 'text', target: T, site: ConversionSite): Conversion;
  /** A target column's type as messages show it. */
  describeTarget(column: T): string;
  targetNullable(column: T): boolean;
  targetIsJson(column: T): boolean;
  /** The column's text length limit, when it has one worth checking. */
  targetTextLimit(column: T): TextLimit | undefined;
  lsnColumn(column: T): MetaColumn<bigint>;
  timeColumn(column: T): MetaColumn<Date>;
  flagColumn(column: T): MetaColumn<boolean>;
  /** What an upsert does with a row that collides on another unique key of the target. */
  readonly otherUniqueKeyEffect: string;
}
