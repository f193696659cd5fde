import type { SourceColumn } from '../mapping/tables.js';
import type { TargetColumn } from '../values/column-types.js';
import { describeSource, type SourceFamily } from '../values/source-spec.js';
import { describeTarget } from '../values/target-spec.js';

/**
 * How the audit walks a mapping's key space.
 *
 * - `range`: the source is read in keyset chunks in its primary-key order, and each chunk's key
 *   range `(previous last key, last key]` is read from the target with the same bounds. Rows are
 *   joined inside a chunk by canonical key, so neither side's order within a chunk matters; what
 *   must hold is that both databases put every key in the same chunk, i.e. that the key
 *   conversion preserves order between PostgreSQL's comparison and MySQL's. That is proven only
 *   for the key types below, where both sides compare by value whatever the collation:
 *   integers and numerics into integer/DECIMAL columns (numeric order), uuid into CHAR/VARCHAR
 *   (PostgreSQL orders uuids by their bytes, which is the order of their lower-case hex text;
 *   hex digits and the hyphens at fixed places order the same in every MySQL collation) or
 *   into BINARY (byte order on both sides), dates and timestamps into DATE/DATETIME/TIMESTAMP
 *   (chronological; TIMESTAMP compares its UTC value).
 * - `lookup`: every other key (text keys above all: PostgreSQL's collation and MySQL's differ
 *   in case, accents, trailing spaces). Two passes, each using one database's own order only:
 *   source chunks looked up on the target by key, then target chunks looked up on the source.
 *   Exact whatever the collations, at about twice the reads.
 */
export type KeyStrategy = 'range' | 'lookup';

/** Whether a source key column's order survives conversion into the target column (see above). */
function orderPreserved(source: SourceColumn, target: TargetColumn): boolean {
  const family = describeSource(source.type).family;
  const kind = describeTarget(target).kind;
  switch (family) {
    case 'integer':
    case 'numeric':
      return kind === 'integer' || kind === 'decimal';
    case 'uuid':
      return kind === 'string' || kind === 'binary';
    case 'date':
      return kind === 'date';
    case 'timestamp':
    case 'timestamptz':
      return kind === 'datetime' || kind === 'timestamp';
    default:
      return false;
  }
}

export function chooseStrategy(
  sourceKey: readonly SourceColumn[],
  targetKey: readonly TargetColumn[],
): KeyStrategy {
  return sourceKey.every((column, index) => orderPreserved(column, targetKey[index]!))
    ? 'range'
    : 'lookup';
}

/**
 * The PostgreSQL input text of a source key column for a target key's canonical form, to look
 * a target row's source row up; undefined when no source value can have that form. Key columns
 * are plain copies, so the canonical text is the source's text form except where the
 * conversion changes the spelling.
 */
export function sourceKeyLiteral(
  family: SourceFamily,
  target: TargetColumn,
  canonical: string,
): string | undefined {
  const kind = describeTarget(target).kind;
  switch (family) {
    case 'uuid':
      if (kind !== 'binary') return canonical;
      if (!/^[0-9a-f]{32}0*$/.test(canonical)) return undefined;
      return `${canonical.slice(0, 8)}-${canonical.slice(8, 12)}-${canonical.slice(12, 16)}-${canonical.slice(16, 20)}-${canonical.slice(20, 32)}`;
    case 'bytea':
      return kind === 'binary' ? `\\x${canonical}` : canonical;
    case 'boolean':
      return canonical === '1' ? 'true' : canonical === '0' ? 'false' : canonical;
    case 'integer': {
      // An integer key in a DECIMAL column reads back as `12.00`.
      const match = /^(-?\d+)(?:\.0+)?$/.exec(canonical);
      return match === null ? undefined : match[1];
    }
    default:
      return canonical;
  }
}
