import type { CompiledMapping, SourceRow } from '../../src/mapping/compiled-mapping.js';
import type {
  BeginEvent,
  ChangeEvent,
  CommitEvent,
  SourceEvent,
} from '../../src/pipeline/source-event.js';
import { fakeSchemas, mappingsBySource } from './test-mappings.js';

/**
 * Mappings for unit tests of the core, compiled against fake catalogs: `public.part` fans out to
 * a filtered, deleting mapping (a short name column, so a long name is a bad value there only)
 * and a soft-deleting history; `public.memo` ignores deletes but not leaving its filter.
 */
export const unitMappingsYaml = `
- name: parts
  source: public.part
  target: stg_part
  key: { part_id: id }
  columns:
    name: name
    qty: qty
    state: { from: state, map: { sale: OPEN, done: CLOSED }, default: NEW }
  filter:
    state: { notIn: [draft] }
  onDelete: delete
- name: parts_history
  source: public.part
  target: stg_part_history
  key: { part_id: id }
  columns: { name: name }
  onDelete: soft
  softDelete: { flag: is_deleted, at: deleted_at }
- name: memos
  source: public.memo
  target: stg_memo
  onDelete: ignore
  key: { memo_id: id }
  filter: { body: { isNull: false } }
  columns: { body: body }
`;

export const unitSchemas = fakeSchemas({
  source: {
    'public.part': {
      columns: { id: 'int8', name: 'text', qty: 'int4', state: 'text' },
      key: ['id'],
    },
    'public.memo': { columns: { id: 'int4', body: 'text' }, key: ['id'] },
    'public.unmapped': { columns: { id: 'int4' }, key: ['id'] },
  },
  target: {
    stg_part: {
      columns: { part_id: 'bigint', name: 'varchar(10)', qty: 'int', state: 'varchar(20)' },
      key: ['part_id'],
    },
    stg_part_history: {
      columns: {
        part_id: 'bigint',
        name: 'varchar(40)',
        is_deleted: 'tinyint(1)',
        deleted_at: 'datetime(6)',
      },
      key: ['part_id'],
    },
    stg_memo: { columns: { memo_id: 'int', body: 'text' }, key: ['memo_id'] },
  },
});

let compiled: ReadonlyMap<string, readonly CompiledMapping[]> | undefined;

/** The unit mappings by source table (compiled once: they are frozen). */
export function unitMappings(): ReadonlyMap<string, readonly CompiledMapping[]> {
  compiled ??= mappingsBySource(unitMappingsYaml, unitSchemas);
  return compiled;
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

/** A `part` row with every mapped column. */
export function part(id: number, name = `part ${id}`, state = 'sale', qty = 1): SourceRow {
  return { id: String(id), name, qty: String(qty), state };
}
