import { describe, expect, it } from 'vitest';
import { batchSink, mapSourceRows } from '../../src/backfill/add-source-rows.js';
import {
  WatermarkInterceptor,
  type WindowHandle,
  watermarkPrefix,
} from '../../src/backfill/watermark-interceptor.js';
import { ValueError } from '../../src/errors/millrace-error.js';
import { silentLogger } from '../../src/log/logger.js';
import type { CompiledMapping, SourceRow, TargetRow } from '../../src/mapping/compiled-mapping.js';
import type { ChangeEvent, MessageEvent } from '../../src/pipeline/source-event.js';
import { rowKeyIdentity } from '../../src/values/key-text.js';
import { TargetBatch } from '../../src/writes/target-batch.js';

/** A stand-in for a compiled mapping: key `id`, one column, a filter on `keep`. */
const mapping: CompiledMapping = Object.freeze({
  name: 'things',
  file: 'things.yaml',
  direction: 'to-mes',
  source: { schema: 'public', table: 'thing' },
  sourceKey: 'public.thing',
  target: 'stg_thing',
  keyColumns: ['thing_id'],
  sourceKeyColumns: ['id'],
  sourceColumns: ['id', 'v', 'keep'],
  targetColumns: ['thing_id', 'v'],
  onDelete: 'delete' as const,
  matches: (row: SourceRow) => row.keep !== 'f',
  key: (row: SourceRow) => [Number(row.id)],
  project: (row: SourceRow): TargetRow => ({ thing_id: Number(row.id), v: row.v as string }),
  softDeleteRow: () => ({}),
});

const meta = { lsn: 500n, syncedAt: new Date('2024-01-01T00:00:00Z') };
const watched = [{ table: 'public.thing', keyColumns: ['id'] }];

function message(content: string): MessageEvent {
  return { kind: 'message', prefix: watermarkPrefix, content, transactional: true };
}

function change(
  kind: ChangeEvent['kind'],
  row: SourceRow | null,
  old: SourceRow | null = null,
  table = 'public.thing',
): ChangeEvent {
  return { kind, table, row, old };
}

/** A window whose high watermark adds these rows through the mapping, skipping changed ones. */
function openWindow(interceptor: WatermarkInterceptor, rows: SourceRow[]): WindowHandle {
  const window = interceptor.open(watched, 'things');
  window.setPayload((batch, at, changed) => {
    const counts = mapSourceRows(mapping, rows, batchSink(mapping, batch), {
      meta: at,
      skip: (row) => {
        const identity = rowKeyIdentity(row, ['id']);
        return identity !== undefined && changed(0, identity);
      },
    });
    return { copied: counts.copied, removed: 0, deadLetters: counts.deadLetters };
  });
  return window;
}

function upsertedKeys(batch: TargetBatch): unknown[] {
  return batch.take().tables.flatMap((table) => table.upserts.map((write) => write.key[0]));
}

const rows = (...ids: number[]): SourceRow[] =>
  ids.map((id) => ({ id: String(id), v: `v${id}`, keep: 't' }));

describe('WatermarkInterceptor', () => {
  it('adds the chunk at the high watermark, minus rows the stream changed in between', async () => {
    const interceptor = new WatermarkInterceptor({ logger: silentLogger() });
    const batch = new TargetBatch();
    // A change before the window opens does not count: the chunk was read after it.
    interceptor.onChange(change('update', { id: '1', v: 'x', keep: 't' }));
    const window = openWindow(interceptor, rows(1, 2, 3, 4, 5, 6));
    interceptor.onMessage(message(window.low), { batch, meta });
    interceptor.onChange(change('update', { id: '2', v: 'newer', keep: 't' }));
    interceptor.onChange(change('delete', null, { id: '3' }));
    // A key change: both the old and the new key belong to the stream.
    interceptor.onChange(change('update', { id: '60', v: 'moved', keep: 't' }, { id: '4' }));
    // Another table with the same key values is not this window's business.
    interceptor.onChange(change('update', { id: '5', v: 'other' }, null, 'public.other'));
    interceptor.onMessage(message(window.high), { batch, meta });
    const result = await window.done;
    expect(result).toEqual({ kind: 'applied', lsn: 500n, copied: 3, removed: 0, deadLetters: 0 });
    expect(upsertedKeys(batch)).toEqual([1, 5, 6]);
  });

  it('ignores watermarks it did not open and messages that are not watermarks', async () => {
    const interceptor = new WatermarkInterceptor({ logger: silentLogger() });
    const batch = new TargetBatch();
    const window = openWindow(interceptor, rows(1));
    interceptor.onMessage(message(JSON.stringify({ id: 'earlier-session-1', mark: 'high' })), {
      batch,
      meta,
    });
    interceptor.onMessage({ ...message(window.low), prefix: 'millrace.other' }, { batch, meta });
    interceptor.onMessage(message('not json'), { batch, meta });
    expect(batch.size).toBe(0);
    interceptor.onMessage(message(window.low), { batch, meta });
    interceptor.onMessage(message(window.high), { batch, meta });
    expect((await window.done).kind).toBe('applied');
    expect(upsertedKeys(batch)).toEqual([1]);
  });

  it('gives a window up when its low watermark was not seen, on a TRUNCATE, and when cancelled', async () => {
    const interceptor = new WatermarkInterceptor({ logger: silentLogger() });
    const batch = new TargetBatch();
    const missed = openWindow(interceptor, rows(1));
    interceptor.onMessage(message(missed.high), { batch, meta });
    expect(await missed.done).toMatchObject({ kind: 'retry' });

    const truncated = openWindow(interceptor, rows(1, 2));
    interceptor.onMessage(message(truncated.low), { batch, meta });
    interceptor.onTruncate({ kind: 'truncate', tables: ['public.thing'] });
    interceptor.onMessage(message(truncated.high), { batch, meta });
    expect(await truncated.done).toMatchObject({
      kind: 'retry',
      reason: expect.stringMatching(/truncated/),
    });

    const cancelled = openWindow(interceptor, rows(1));
    interceptor.onMessage(message(cancelled.low), { batch, meta });
    interceptor.cancelAll('stopping');
    interceptor.onMessage(message(cancelled.high), { batch, meta });
    expect(await cancelled.done).toEqual({ kind: 'retry', reason: 'stopping' });
    expect(batch.size).toBe(0);
  });

  it('keeps rows outside the filter out and turns conversion failures into dead letters', () => {
    const failWith = (error: Error): CompiledMapping => ({
      ...mapping,
      project: (row, at) => {
        if (row.id === '2') throw error;
        return mapping.project(row, at);
      },
    });
    // Only a ValueError is a bad row; anything else is a bug and propagates.
    const buggy = failWith(new Error('boom'));
    expect(() =>
      mapSourceRows(buggy, rows(1, 2), batchSink(buggy, new TargetBatch()), { meta }),
    ).toThrow('boom');
    const bad = failWith(new ValueError('VALUE_OUT_OF_RANGE', 'things: v: out of range'));
    const batch = new TargetBatch();
    const counts = mapSourceRows(
      bad,
      [...rows(1, 2, 3), { id: '4', v: 'v4', keep: 'f' }],
      batchSink(bad, batch),
      {
        meta,
      },
    );
    expect(counts).toEqual({ copied: 2, filtered: 1, skipped: 0, deadLetters: 1 });
    expect(batch.take().deadLetters).toEqual([
      {
        origin: {
          mapping: 'things',
          lsn: null,
          operation: 'backfill',
          sourceValues: { id: '2', v: 'v2', keep: 't' },
        },
        key: { thing_id: '2' },
        error: 'things: v: out of range',
      },
    ]);
  });
});
