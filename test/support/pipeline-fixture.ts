import type { CompiledMapping, SourceRow } from '../../src/mapping/compiled-mapping.js';
import type {
  BeginEvent,
  ChangeEvent,
  CommitEvent,
  SourceEvent,
} from '../../src/pipeline/source-event.js';
import { fakeSchemas, mappingsBySource } from './test-mappings.js';

/**
 * Mappings for unit tests of the core, compiled against fake catalogs: `public.item` fans out to
 * a filtered, deleting mapping (a short name column, so a long name is a bad value there only)
 * and a soft-deleting history; `public.note` ignores deletes but not leaving its filter.
 */
export const unitMappingsYaml = `
- name: items
  source: public.item
  target: stg_item
  key: { item_id: id }
  columns:
    name: name
    qty: qty
    state: { from: state, map: { sale: RELEASED, done: COMPLETED }, default: PLANNED }
  filter:
    state: { notIn: [draft] }
  onDelete: delete
- name: items_history
  source: public.item
  target: stg_item_history
  key: { item_id: id }
  columns: { name: name }
  onDelete: soft
  softDelete: { flag: is_deleted, at: deleted_at }
- name: notes
  source: public.note
  target: stg_note
  key: { note_id: id }
  columns: { body: body }
  filter:
    body: { isNull: false }
  onDelete: ignore
`;

export const unitSchemas = fakeSchemas({
  source: {
    'public.item': {
      columns: { id: 'int8', name: 'text', qty: 'int4', state: 'text' },
      key: ['id'],
    },
    'public.note': { columns: { id: 'int4', body: 'text' }, key: ['id'] },
    'public.unmapped': { columns: { id: 'int4' }, key: ['id'] },
  },
  target: {
    stg_item: {
      columns: { item_id: 'bigint', name: 'varchar(10)', qty: 'int', state: 'varchar(20)' },
      key: ['item_id'],
    },
    stg_item_history: {
      columns: {
        item_id: 'bigint',
        name: 'varchar(40)',
        is_deleted: 'tinyint(1)',
        deleted_at: 'datetime(6)',
      },
      key: ['item_id'],
    },
    stg_note: { columns: { note_id: 'int', body: 'text' }, key: ['note_id'] },
  },
});

/** The unit mappings by source table, compiled once per call. */
export function unitMappings(): ReadonlyMap<string, readonly CompiledMapping[]> {
  return mappingsBySource(unitMappingsYaml, unitSchemas);
}

/** Synthetic pgoutput events, in PostgreSQL's text form. */
export const events = {
  begin(finalLsn: bigint, xid = 1): BeginEvent {
    return { kind: 'begin', xid, finalLsn };
  },
  commit(endLsn: bigint, commitTimeMs = Date.now()): CommitEvent {
    return { kind: 'commit', endLsn, commitTimeMs };
  },
  insert(table: string, row: SourceRow): ChangeEvent {
    return { kind: 'insert', table, row, old: null };
  },
  update(table: string, row: SourceRow, old: SourceRow | null = null): ChangeEvent {
    return { kind: 'update', table, row, old };
  },
  delete(table: string, old: SourceRow): ChangeEvent {
    return { kind: 'delete', table, row: null, old };
  },
};

/**
 * One source transaction: begin, its changes, commit. `finalLsn` (the commit record's start)
 * sits just below `endLsn`, as in a real stream.
 */
export function transaction(endLsn: bigint, changes: readonly SourceEvent[]): SourceEvent[] {
  return [events.begin(endLsn - 8n), ...changes, events.commit(endLsn)];
}

/** An `item` row with every mapped column. */
export function item(id: number, name = `item ${id}`, state = 'sale', qty = 1): SourceRow {
  return { id: String(id), name, qty: String(qty), state };
}
