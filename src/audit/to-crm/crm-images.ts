import { describeError, ValueError } from '../../errors/millrace-error.js';
import type { ChangeMeta, SourceRow } from '../../mapping/compiled-mapping.js';
import type { TargetValue } from '../../values/column-types.js';
import type { CrmAuditModel } from './crm-audit-model.js';

/**
 * A MES row as the return stream would write it: the key and compared columns exactly as the
 * compiled to-crm mapping hands them to the CRM sink (text PostgreSQL parses for the column's
 * type, a Buffer for bytea, null), ready for the session table.
 */
export interface CrmImage {
  /** `expected`: the CRM must hold the row; `filtered`: it exists but the filter leaves it out. */
  readonly kind: 'expected' | 'filtered';
  /** The MES key as text forms, to read the row again. */
  readonly sourceKey: readonly (string | null)[];
  /** Key then compared columns (model order); compared ones null for `filtered` and refused rows. */
  readonly values: readonly TargetValue[];
  /** A value the conversion refuses: the stream would dead-letter the row. */
  readonly error?: { readonly column: string; readonly message: string };
}

/** Metadata columns are not compared, so any fixed meta will do. */
const auditMeta: ChangeMeta = Object.freeze({ lsn: 0n, syncedAt: new Date(0) });

/** Turns MES rows (text forms) into images; undefined for a row whose key itself does not convert. */
export function compileCrmImage(model: CrmAuditModel): (row: SourceRow) => CrmImage | undefined {
  const { mapping, keyColumns, compareColumns } = model;
  const blanks: null[] = compareColumns.map(() => null);
  const keyOnly = (row: SourceRow): readonly TargetValue[] | undefined => {
    try {
      return [...mapping.key(row), ...blanks];
    } catch (error) {
      if (error instanceof ValueError) return undefined;
      throw error;
    }
  };
  return (row) => {
    const sourceKey = mapping.sourceKeyColumns.map((column) => {
      const value = row[column];
      return typeof value === 'string' ? value : null;
    });
    if (mapping.matches(row) === false) {
      const keyed = keyOnly(row);
      return keyed && { kind: 'filtered', sourceKey, values: keyed };
    }
    try {
      const projected = mapping.project(row, auditMeta);
      const out: TargetValue[] = [];
      for (const column of keyColumns) out.push(projected[column] ?? null);
      for (const column of compareColumns) out.push(projected[column] ?? null);
      return { kind: 'expected', sourceKey, values: out };
    } catch (error) {
      if (!(error instanceof ValueError)) throw error;
      const keyed = keyOnly(row);
      const column = typeof error.context.column === 'string' ? error.context.column : '*';
      return (
        keyed && {
          kind: 'expected',
          sourceKey,
          values: keyed,
          error: { column, message: `cannot convert: ${describeError(error)}` },
        }
      );
    }
  };
}
