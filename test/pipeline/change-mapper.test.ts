import { describe, expect, it } from 'vitest';
import { RuntimeFailure } from '../../src/errors/millrace-error.js';
import { type ChangeMeta, UNCHANGED } from '../../src/mapping/compiled-mapping.js';
import { ChangeMapper } from '../../src/pipeline/change-mapper.js';
import type { ChangeEvent } from '../../src/pipeline/source-event.js';
import { TargetBatch } from '../../src/writes/target-batch.js';
import type { TableWrites, WriteChunk } from '../../src/writes/write-chunk.js';
import { events, part, unitMappings } from '../support/pipeline-fixture.js';

const meta: ChangeMeta = { lsn: 0x1000n, syncedAt: new Date('2024-05-01T10:00:00.123Z') };
const syncedAt = '2024-05-01 10:00:00.123000';

/** The chunk a mapper makes of these changes, in one batch. */
function mapped(
  changes: readonly ChangeEvent[],
  onBadRow: 'deadletter' | 'stop' = 'deadletter',
): WriteChunk {
  const mapper = new ChangeMapper({ mappingsByTable: unitMappings(), onBadRow });
  const batch = new TargetBatch();
  for (const change of changes) mapper.mapChange(change, meta, batch);
  return batch.take();
}

/** One target table's writes, as plain keys and rows. */
function writesTo(chunk: WriteChunk, table: string) {
  const writes: TableWrites | undefined = chunk.tables.find((entry) => entry.table === table);
  return {
    deletes: writes?.deletes.map((write) => write.key) ?? [],
    updates: writes?.updates.map((write) => ({ key: write.key, row: write.row })) ?? [],
    upserts: writes?.upserts.map((write) => write.row) ?? [],
  };
}

const softDeleted = { is_deleted: 1, deleted_at: syncedAt };

describe('ChangeMapper', () => {
  it('knows which tables are mapped', () => {
    const mapper = new ChangeMapper({ mappingsByTable: unitMappings(), onBadRow: 'deadletter' });
    expect(mapper.isMapped('public.part')).toBe(true);
    expect(mapper.isMapped('public.unmapped')).toBe(false);
  });

  it('maps an insert into an upsert for every mapping of the table (fan-out)', () => {
    const chunk = mapped([events.insert('public.part', part(1, 'one', 'done', 5))]);
    expect(writesTo(chunk, 'stg_part')).toEqual({
      deletes: [],
      updates: [],
      upserts: [{ part_id: '1', name: 'one', qty: 5, state: 'CLOSED' }],
    });
    expect(writesTo(chunk, 'stg_part_history')).toEqual({
      deletes: [],
      updates: [],
      upserts: [{ part_id: '1', name: 'one', is_deleted: 0, deleted_at: null }],
    });
    expect(chunk.deadLetters).toEqual([]);
  });

  it('maps an update that keeps its key into an upsert, leaving unchanged TOAST columns out', () => {
    const chunk = mapped([
      events.update('public.part', { id: '2', name: UNCHANGED, qty: '3', state: 'sale' }),
    ]);
    expect(writesTo(chunk, 'stg_part').upserts).toEqual([{ part_id: '2', qty: 3, state: 'OPEN' }]);
    expect(writesTo(chunk, 'stg_part_history').upserts).toEqual([
      { part_id: '2', is_deleted: 0, deleted_at: null },
    ]);
  });

  it('maps a delete by onDelete: delete, soft, ignore', () => {
    const chunk = mapped([
      events.delete('public.part', { id: '3' }),
      events.delete('public.memo', { id: '4' }),
    ]);
    expect(writesTo(chunk, 'stg_part')).toEqual({ deletes: [['3']], updates: [], upserts: [] });
    expect(writesTo(chunk, 'stg_part_history')).toEqual({
      deletes: [],
      updates: [{ key: ['3'], row: softDeleted }],
      upserts: [],
    });
    expect(writesTo(chunk, 'stg_memo')).toEqual({ deletes: [], updates: [], upserts: [] });
  });

  it('removes the old key when an update changes the key', () => {
    const chunk = mapped([events.update('public.part', part(50, 'moved'), { id: '5' })]);
    expect(writesTo(chunk, 'stg_part')).toEqual({
      deletes: [['5']],
      updates: [],
      upserts: [{ part_id: '50', name: 'moved', qty: 1, state: 'OPEN' }],
    });
    expect(writesTo(chunk, 'stg_part_history')).toEqual({
      deletes: [],
      updates: [{ key: ['5'], row: softDeleted }],
      upserts: [{ part_id: '50', name: 'moved', is_deleted: 0, deleted_at: null }],
    });
  });

  it('removes a row that leaves the filter, and does not write one that stays out', () => {
    const chunk = mapped([
      events.update('public.part', part(6, 'now draft', 'draft')),
      events.insert('public.part', part(7, 'draft', 'draft')),
      events.update('public.memo', { id: '8', body: null }),
    ]);
    expect(writesTo(chunk, 'stg_part')).toEqual({ deletes: [['6']], updates: [], upserts: [] });
    // The history has no filter: both rows are written there.
    expect(writesTo(chunk, 'stg_part_history').upserts.map((row) => row.part_id)).toEqual([
      '6',
      '7',
    ]);
    // onDelete: ignore keeps source deletes, but a row that left the filter is out of scope.
    expect(writesTo(chunk, 'stg_memo')).toEqual({ deletes: [[8]], updates: [], upserts: [] });
  });

  it('writes a row that enters the filter', () => {
    const chunk = mapped([events.update('public.part', part(9, 'released', 'sale'))]);
    expect(writesTo(chunk, 'stg_part').upserts).toEqual([
      { part_id: '9', name: 'released', qty: 1, state: 'OPEN' },
    ]);
  });

  it('turns a bad value into a dead letter for that mapping only', () => {
    const change = events.insert('public.part', part(10, 'far too long for ten'));
    const chunk = mapped([change]);
    expect(writesTo(chunk, 'stg_part').upserts).toEqual([]);
    expect(writesTo(chunk, 'stg_part_history').upserts).toEqual([
      { part_id: '10', name: 'far too long for ten', is_deleted: 0, deleted_at: null },
    ]);
    expect(chunk.deadLetters).toHaveLength(1);
    expect(chunk.deadLetters[0]).toMatchObject({
      origin: { mapping: 'parts', lsn: meta.lsn, operation: 'insert', sourceValues: change.row },
      key: { part_id: '10' },
    });
    expect(chunk.deadLetters[0]?.error).toMatch(/name/);
  });

  it('stops on a bad value with onBadRow stop', () => {
    const change = events.insert('public.part', part(11, 'far too long for ten'));
    let failure: unknown;
    try {
      mapped([change], 'stop');
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(RuntimeFailure);
    expect(failure).toMatchObject({ code: 'BAD_ROW', context: { mapping: 'parts' } });
  });

  it('maps a TRUNCATE into a reset per mapping: delete, soft delete, nothing for ignore', () => {
    const mapper = new ChangeMapper({ mappingsByTable: unitMappings(), onBadRow: 'deadletter' });
    const batch = new TargetBatch();
    mapper.mapTruncate({ kind: 'truncate', tables: ['public.part', 'public.memo'] }, meta, batch);
    const { resets } = batch.take();
    expect(resets.map(({ table, set }) => ({ table, set }))).toEqual([
      { table: 'stg_part', set: undefined },
      { table: 'stg_part_history', set: softDeleted },
    ]);
    expect(resets.map((reset) => reset.origin.operation)).toEqual(['truncate', 'truncate']);
  });

  it('ignores changes to unmapped tables', () => {
    const chunk = mapped([events.insert('public.unmapped', { id: '1' })]);
    expect(chunk).toEqual({ resets: [], tables: [], deadLetters: [] });
  });
});
