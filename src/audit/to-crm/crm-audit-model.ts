import type { CompiledMapping } from '../../mapping/compiled-mapping.js';
import type { TargetTable } from '../../mapping/tables.js';
import type { MesTableRead } from '../../mysql/mes-rows.js';
import type { CrmColumn, MesColumn } from '../../values/column-types.js';
import { comparedColumns } from '../row-model.js';

/**
 * One to-crm mapping as the audit sees it: the MES columns read, the CRM columns compared, and
 * the session table the mapped rows are loaded into.
 */
export interface CrmAuditModel {
  readonly mapping: CompiledMapping;
  /** The MES table's columns the mapping reads, and its key. */
  readonly read: MesTableRead;
  /** The CRM key columns, in key order. */
  readonly keyColumns: readonly string[];
  /** CRM columns compared: the mapping's columns without key, metadata and soft-delete ones. */
  readonly compareColumns: readonly string[];
  /** The CRM type of each key and compared column. */
  readonly types: ReadonlyMap<string, CrmColumn['type']>;
  /** Whether the CRM key orders like the MES key, so a MES key range is a CRM key range. */
  readonly ordered: boolean;
  /** The session (TEMP) table holding the mapped MES rows. */
  readonly scratch: string;
}

const integerMes = new Set(['tinyint', 'smallint', 'mediumint', 'int', 'bigint']);
const integerCrm = new Set(['int2', 'int4', 'int8', 'numeric']);

export function buildCrmAuditModel(
  mapping: CompiledMapping,
  mesColumns: ReadonlyMap<string, MesColumn>,
  target: TargetTable<CrmColumn>,
  index: number,
): CrmAuditModel {
  const keyColumns = mapping.keyColumns;
  const compareColumns = comparedColumns(mapping);
  const types = new Map<string, CrmColumn['type']>();
  for (const name of [...keyColumns, ...compareColumns]) {
    types.set(name, target.columns.get(name)!.type);
  }
  const keyMes = mapping.sourceKeyColumns.map((name) => mesColumns.get(name)!);
  // A copied integer key orders alike on both sides; anything else (text under two collations,
  // a converted temporal) is compared over the whole table instead of range by range.
  const ordered = keyMes.every(
    (column, i) =>
      integerMes.has(column.dataType) && integerCrm.has(types.get(keyColumns[i]!)!.name),
  );
  return Object.freeze({
    mapping,
    read: {
      table: mapping.source.table,
      columns: mapping.sourceColumns,
      keyColumns: mapping.sourceKeyColumns,
    },
    keyColumns,
    compareColumns,
    types,
    ordered,
    scratch: `millrace_audit_${index}`,
  });
}
