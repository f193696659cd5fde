import type { SourceType, TargetColumn } from '../values/column-types.js';
import { checkCompatibility } from '../values/compatibility.js';
import { compileConversion } from '../values/compile-conversion.js';
import { describeSourceType } from './describe-type.js';
import type { DirectionTypes } from './direction-types.js';
import { flagColumn, lsnColumn, timeColumn } from './metadata-values.js';
import { maxTextLength } from './text-bounds.js';
import { valueOrder } from './value-order.js';

const jsonTypes = new Set(['json', 'jsonb']);
const charTypes = new Set(['char', 'varchar']);
const textTypes = new Set(['tinytext', 'text', 'mediumtext', 'longtext']);

/** CRM (PostgreSQL types, text form) → MES (MySQL columns): what every mapping did before directions. */
export const toMesTypes: DirectionTypes<SourceType, TargetColumn> = Object.freeze({
  sourceSide: 'the CRM',
  targetSide: 'the MES database',
  describeSource: describeSourceType,
  sourceOrder: valueOrder,
  sourceIsJson: (type: SourceType) => jsonTypes.has(type.name),
  sourceTextLength: maxTextLength,
  compatibility: checkCompatibility,
  compile: compileConversion,
  // MariaDB's JSON is a LONGTEXT, but people wrote JSON.
  describeTarget: (column: TargetColumn) => (column.isJson ? 'json' : column.columnType),
  targetNullable: (column: TargetColumn) => column.nullable,
  targetIsJson: (column: TargetColumn) => column.isJson,
  targetTextLimit: (column: TargetColumn) => {
    if (column.maxLength === null) return undefined;
    if (charTypes.has(column.dataType)) return { chars: column.maxLength };
    return textTypes.has(column.dataType) ? { bytes: column.maxLength } : undefined;
  },
  lsnColumn,
  timeColumn,
  flagColumn,
  otherUniqueKeyEffect:
    'would overwrite that row (ON DUPLICATE KEY UPDATE fires on any unique key)',
});
