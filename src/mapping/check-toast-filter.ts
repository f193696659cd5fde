import type { SourceType } from '../values/column-types.js';
import type { CheckReport } from './check-report.js';
import type { NamedColumn } from './direction-types.js';
import { filterConditions } from './mapping-spec.js';
import type { ResolvedMapping } from './resolve-mapping.js';
import type { SourceColumn } from './tables.js';

/** Types PostgreSQL may store out of line when introspection did not say (fakes in tests). */
const toastableTypes = new Set(['text', 'varchar', 'bpchar', 'json', 'jsonb', 'bytea', 'numeric']);

/**
 * Whether PostgreSQL may store the column's values out of line (TOAST), so that an UPDATE that
 * does not change it sends it as "unchanged" rather than its value.
 */
export function mayBeToasted<S>(column: SourceColumn<S>): boolean {
  if (column.toastable !== undefined) return column.toastable;
  // Only fakes in tests leave `toastable` out, and they describe CRM columns.
  const type = column.type as Partial<SourceType>;
  return type.category === 'A' || toastableTypes.has(type.name ?? '');
}

/**
 * The source columns a filtered mapping writes into the target that TOAST can leave out of an
 * UPDATE. A row that enters the filter through such an UPDATE (or leaves and re-enters it within
 * one batch) is absent on the target, so the upsert that creates it would lack their values:
 * only REPLICA IDENTITY FULL brings them, in the old row that pgoutput then sends.
 */
function toastedUnderFilter<S, T extends NamedColumn>(
  resolved: ResolvedMapping<S, T>,
): readonly SourceColumn<S>[] {
  if (resolved.spec.filter === undefined) return [];
  const found = new Map<string, SourceColumn<S>>();
  for (const column of resolved.columns) {
    for (const [name, source] of column.reads) if (mayBeToasted(source)) found.set(name, source);
  }
  return [...found.values()];
}

/**
 * Why a mapping needs REPLICA IDENTITY FULL on its source table, or undefined when it does not:
 * it writes TOASTable columns under a filter, or its filter reads a TOASTable column.
 */
export function fullIdentityReason(resolved: ResolvedMapping): string | undefined {
  const written = toastedUnderFilter(resolved).map((column) => column.name);
  const filtered = new Set<string>();
  for (const { condition, column } of resolved.filter) {
    if (column && mayBeToasted(column)) filtered.add(condition.column);
  }
  const parts = [
    ...(written.length > 0 ? [`writes ${written.join(', ')} under its filter`] : []),
    ...(filtered.size > 0 ? [`filters on ${[...filtered].join(', ')}`] : []),
  ];
  return parts.length === 0 ? undefined : `mapping ${resolved.spec.name} ${parts.join(' and ')}`;
}

/** Warns when a row entering the mapping's filter could be written without a TOASTed value. */
export function checkToastFilter<S, T extends NamedColumn>(
  report: CheckReport,
  resolved: ResolvedMapping<S, T>,
): void {
  const { spec, source, types } = resolved;
  if (!source || source.replicaIdentity === 'f') return;
  const columns = toastedUnderFilter(resolved);
  if (columns.length === 0) return;
  const filtered = [...new Set(filterConditions(spec.filter).map((c) => c.column))].join(', ');
  const written = columns
    .map((column) => `${column.name} (${types.describeSource(column.type)})`)
    .join(', ');
  report.warn(
    'TOAST_FILTER_NEEDS_FULL',
    'filter',
    `the filter (on ${filtered}) decides which rows exist on the target, and the mapping writes ${written}, which PostgreSQL may store out of line (TOAST): a row that enters the filter through an UPDATE that does not change ${columns.length === 1 ? 'it' : 'them'} would be written without ${columns.length === 1 ? 'its value' : 'their values'}; \`millrace setup\` sets REPLICA IDENTITY FULL on ${spec.sourceKey} so the old row carries ${columns.length === 1 ? 'it' : 'them'} (every UPDATE and DELETE then logs the whole old row in WAL)`,
  );
}
