import { checkTypes } from './check-conversion.js';
import { type CheckReport, columnList as list, sameColumns } from './check-report.js';
import type { NamedColumn } from './direction-types.js';
import type { ResolvedMapping } from './resolve-mapping.js';
import type { SourceTable } from './tables.js';

function identityName<S>(table: SourceTable<S>): string {
  switch (table.replicaIdentity) {
    case 'd':
      return table.primaryKey.length > 0
        ? `REPLICA IDENTITY DEFAULT, the primary key ${list(table.primaryKey)}`
        : 'REPLICA IDENTITY DEFAULT and no primary key';
    case 'n':
      return 'REPLICA IDENTITY NOTHING';
    case 'i':
      return `REPLICA IDENTITY USING INDEX ${list(table.identityColumns)}`;
    case 'f':
      return 'REPLICA IDENTITY FULL';
  }
}

/** The key is the primary key or a unique key of the target: upserts rely on it. */
function checkTargetUnique<S, T extends NamedColumn>(
  report: CheckReport,
  { spec, target, key }: ResolvedMapping<S, T>,
): void {
  if (!target || !key.every((entry) => entry.column !== undefined)) return;
  const keyTargets = spec.key.map((entry) => entry.target);
  const uniques = [target.primaryKey, ...target.uniqueKeys].filter((columns) => columns.length > 0);
  if (uniques.some((columns) => sameColumns(columns, keyTargets))) return;
  const known = [
    target.primaryKey.length > 0 ? `primary key ${list(target.primaryKey)}` : 'no primary key',
    ...target.uniqueKeys.map((columns) => `unique key ${list(columns)}`),
  ].join(', ');
  report.error(
    'KEY_NOT_UNIQUE',
    'key',
    `${list(keyTargets)} is not the primary key or a unique key of ${spec.target} (it has ${known}); upserts need the key to be unique`,
  );
}

/** Deletes and key changes carry only the replica identity: the source key must be in it. */
function checkSourceIdentity<S, T extends NamedColumn>(
  report: CheckReport,
  { spec, source, key }: ResolvedMapping<S, T>,
): void {
  if (!source || !key.every((entry) => entry.source !== undefined)) return;
  const identity = new Set(source.identityColumns);
  const uncovered = spec.key.filter((entry) => !identity.has(entry.from));
  if (uncovered.length > 0) {
    const fix =
      source.replicaIdentity === 'f'
        ? ''
        : `; map the key from ${source.identityColumns.length > 0 ? list(source.identityColumns) : 'the primary key'} or run ALTER TABLE ${spec.sourceKey} REPLICA IDENTITY FULL`;
    report.error(
      'KEY_NOT_IN_REPLICA_IDENTITY',
      `key.${uncovered[0]!.target}`,
      `source key ${list(uncovered.map((entry) => entry.from))} is not in the replica identity of ${spec.sourceKey} (${identityName(source)}): deletes and key changes would not carry it${fix}`,
    );
    return;
  }
  const sourceKey = new Set(spec.key.map((entry) => entry.from));
  const knownUnique = [
    source.primaryKey,
    source.replicaIdentity === 'i' ? source.identityColumns : [],
    ...(source.uniqueKeys ?? []),
  ].filter((columns) => columns.length > 0);
  if (!knownUnique.some((columns) => columns.every((column) => sourceKey.has(column)))) {
    report.warn(
      'SOURCE_KEY_NOT_UNIQUE',
      'key',
      `source key ${list([...sourceKey])} is not known to be unique in ${spec.sourceKey} (${source.primaryKey.length > 0 ? `primary key ${list(source.primaryKey)}` : 'no primary key'}): two source rows could write one target row`,
    );
  }
}

/** Key: exists on both sides, unique on the target, carried by the source's replica identity. */
export function checkKey<S, T extends NamedColumn>(
  report: CheckReport,
  resolved: ResolvedMapping<S, T>,
): void {
  for (const entry of resolved.key) {
    report.add(entry.problems);
    if (entry.source && entry.column)
      checkTypes(
        report,
        resolved.types,
        entry.source.type,
        entry.column,
        entry.field,
        entry.source.notNull,
      );
  }
  checkTargetUnique(report, resolved);
  checkSourceIdentity(report, resolved);
}
