import type { CrmColumn, MesColumn } from '../values/column-types.js';
import { checkCrmCompatibility } from '../values/compatibility.js';
import { compileCrmConversion } from '../values/compile-conversion.js';
import { mesTextLength } from '../values/crm-source.js';
import { describeSourceType } from './describe-type.js';
import type { DirectionTypes } from './direction-types.js';
import { crmFlagColumn, crmLsnColumn, crmTimeColumn } from './metadata-values.js';
import { mesValueOrder } from './value-order.js';

const jsonTypes = new Set(['json', 'jsonb']);

/** MES (MySQL columns, MySQL's text form) → CRM (PostgreSQL types, bound as text or bytes). */
export const toCrmTypes: DirectionTypes<MesColumn, CrmColumn> = Object.freeze({
  sourceSide: 'the MES database',
  targetSide: 'the CRM',
  describeSource: (column: MesColumn) => (column.isJson ? 'json' : column.columnType),
  sourceOrder: mesValueOrder,
  sourceIsJson: (column: MesColumn) => column.isJson,
  sourceTextLength: mesTextLength,
  compatibility: checkCrmCompatibility,
  compile: compileCrmConversion,
  describeTarget: (column: CrmColumn) => describeSourceType(column.type),
  targetNullable: (column: CrmColumn) => column.nullable,
  targetIsJson: (column: CrmColumn) => jsonTypes.has(column.type.name),
  targetTextLimit: (column: CrmColumn) => {
    const { name, typmod } = column.type;
    return (name === 'varchar' || name === 'bpchar') && typmod >= 4
      ? { chars: typmod - 4 }
      : undefined;
  },
  lsnColumn: crmLsnColumn,
  timeColumn: crmTimeColumn,
  flagColumn: crmFlagColumn,
  otherUniqueKeyEffect:
    'is refused by PostgreSQL (ON CONFLICT covers only the mapped key) and becomes a dead letter',
});
