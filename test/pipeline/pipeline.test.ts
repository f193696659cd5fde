import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/log/logger.js';
import { ChangeMapper } from '../../src/pipeline/change-mapper.js';
import { Pipeline, type PipelineOptions } from '../../src/pipeline/pipeline.js';
import type { Checkpoint, ChunkStats, Sink } from '../../src/pipeline/sink.js';
import type { SourceEvent, TruncateEvent } from '../../src/pipeline/source-event.js';
import type { StreamInterceptor } from '../../src/pipeline/stream-interceptor.js';
import type { WriteChunk } from '../../src/writes/write-chunk.js';
import { events, part, transaction, unitMappings } from '../support/pipeline-fixture.js';

/** A chunk in a line: `reset T`, `T +keys` (upserts), `T -keys` (deletes), `T ~keys` (updates). */
function describeChunk(chunk: WriteChunk): string {
  const parts = chunk.resets.map((reset) => `reset ${reset.table}`);
  for (const table of chunk.tables) {
    const keys = (writes: readonly { key: readonly unknown[] }[]) =>
      writes.map((write) => write.key.join('/')).join(',');
    if (table.deletes.length > 0) parts.push(`${table.table} -${keys(table.deletes)}`);
    if (table.updates.length > 0) parts.push(`${table.table} ~${keys(table.updates)}`);
    if (table.upserts.length > 0) parts.push(`${table.table} +${keys(table.upserts)}`);
  }
  for (const letter of chunk.deadLetters) parts.push(`dead letter ${letter.origin.mapping}`);
  return parts.join('; ');
}

/** A gate that holds calls until opened. */
class Gate {
  private opened: Promise<void> = Promise.resolve();
  private open: (() => void) | undefined;

  close(): void {
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
  }

  release(): void {
    this.open?.();
  }

  pass(): Promise<void> {
    return this.opened;
  }
}

/**
 * Everything the pipeline does to its sink and source, in one timeline: `apply <chunk>`,
 * `commit <lsn>` (asked), `committed <lsn>` (resolved), `rollback`, `ack <lsn>`, `pause <bool>`,
 * and the interceptor's `truncate <tables>`.
 */
class Recorder implements Sink {
  readonly timeline: string[] = [];
  readonly acks: bigint[] = [];
  readonly pauses: { paused: boolean; queued: number }[] = [];
  readonly commits = new Gate();
  readonly applies = new Gate();
  failCommit: Error | undefined;
  pipeline: Pipeline | undefined;

  async apply(chunk: WriteChunk): Promise<ChunkStats> {
    this.timeline.push(`apply ${describeChunk(chunk)}`);
    await this.applies.pass();
    return { upserted: 0, deleted: 0, updated: 0, deadLetters: chunk.deadLetters.length };
  }

  async commit(extra: { readonly checkpoint?: Checkpoint }): Promise<void> {
    const lsn = extra.checkpoint?.lsn;
    expect(extra.checkpoint?.slot).toBe('slot_a');
    this.timeline.push(`commit ${lsn}`);
    await this.commits.pass();
    if (this.failCommit) throw this.failCommit;
    this.timeline.push(`committed ${lsn}`);
  }

  async rollback(): Promise<void> {
    this.timeline.push('rollback');
  }

  readonly source = {
    acknowledge: (lsn: bigint) => {
      this.acks.push(lsn);
      this.timeline.push(`ack ${lsn}`);
    },
    pause: (paused: boolean) => {
      this.pauses.push({ paused, queued: this.pipeline?.queued() ?? -1 });
      this.timeline.push(`pause ${paused}`);
    },
  };

  readonly interceptor: StreamInterceptor = {
    onMessage: () => undefined,
    onChange: () => undefined,
    onTruncate: (event: TruncateEvent) => {
      this.timeline.push(`truncate ${event.tables.join(',')}`);
    },
  };
}

/** Polls until `probe` holds (the pipeline runs on timers and promises of its own). */
async function until(what: string, probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** An insert into the `memo` table (one mapping, one write). */
const memo = (id: number, body = 'x') => events.insert('public.memo', { id: String(id), body });

/** What the commit of a batch up to `lsn` adds to the timeline, acknowledgement included. */
const committedUpTo = (lsn: bigint) => [`commit ${lsn}`, `committed ${lsn}`, `ack ${lsn}`];

const running: { stop: AbortController; done: Promise<unknown> }[] = [];

afterEach(async () => {
  for (const run of running.splice(0)) {
    run.stop.abort();
    await run.done.catch(() => undefined);
  }
});

/** A pipeline over the unit mappings, a recording sink and source, started. */
function startPipeline(options: Partial<PipelineOptions> = {}) {
  const recorder = new Recorder();
  const pipeline = new Pipeline({
    mapper: new ChangeMapper({ mappingsByTable: unitMappings(), onBadRow: 'deadletter' }),
    sink: recorder,
    source: recorder.source,
    interceptor: recorder.interceptor,
    slot: 'slot_a',
    checkpoint: 0n,
    checkRelation: async () => undefined,
    logger: silentLogger(),
    maxBatchDelayMs: 10_000,
    ...options,
  });
  recorder.pipeline = pipeline;
  const stop = new AbortController();
  const done = pipeline.run(stop.signal);
  const run = { stop, done };
  running.push(run);
  const push = (list: readonly SourceEvent[]) => {
    for (const event of list) pipeline.push(event);
  };
  /** Stops gracefully once `lsn` was acknowledged; the timeline so far. */
  const stopAfterAck = async (lsn: bigint) => {
    await until(`the acknowledgement of ${lsn}`, () => recorder.acks.includes(lsn));
    stop.abort();
    await done;
    return recorder.timeline;
  };
  return { pipeline, recorder, push, stop, done, stopAfterAck };
}

describe('Pipeline', () => {
  it('skips transactions at or below the checkpoint', async () => {
    const { push, stopAfterAck } = startPipeline({ checkpoint: 200n });
    push(transaction(100n, [memo(1, 'old')]));
    push(transaction(200n, [memo(2, 'applied')]));
    push(transaction(300n, [memo(3, 'new')]));
    expect(await stopAfterAck(300n)).toEqual(['apply stg_memo +3', ...committedUpTo(300n)]);
  });

  it("drops the changes of a transaction under a millrace origin (the return path's own writes) and still commits its position", async () => {
    const { recorder, push, stopAfterAck } = startPipeline();
    const changes: string[] = [];
    recorder.interceptor.onChange = (event) => changes.push(`${event.kind} ${event.table}`);
    const underOrigin = (endLsn: bigint, name: string, list: readonly SourceEvent[]) => {
      const [begin, ...rest] = transaction(endLsn, list);
      return [begin!, { kind: 'origin', name } as const, ...rest];
    };
    push(
      underOrigin(100n, 'millrace_orders', [
        memo(1, 'echo'),
        events.insert('public.part', part(1)),
        { kind: 'truncate', tables: ['public.part'] },
      ]),
    );
    // Another origin (say a subscription replicating into the CRM) is applied as usual.
    push(underOrigin(200n, 'pg_16500', [memo(2, 'replicated')]));
    push(transaction(300n, [memo(3, 'plain')]));
    expect(await stopAfterAck(300n)).toEqual([
      'truncate public.part',
      'apply stg_memo +2,3',
      ...committedUpTo(300n),
    ]);
    // An online backfill window still learns which rows the echo touched, so it copies none back.
    expect(changes).toEqual([
      'insert public.memo',
      'insert public.part',
      'insert public.memo',
      'insert public.memo',
    ]);
  });

  it('acknowledges a transaction under a millrace origin on its own, like an empty one', async () => {
    const { push, stopAfterAck } = startPipeline();
    const [begin, ...rest] = transaction(100n, [memo(1, 'echo')]);
    push([begin!, { kind: 'origin', name: 'millrace_orders' }, ...rest]);
    expect(await stopAfterAck(100n)).toEqual(committedUpTo(100n));
  });

  it('moves the checkpoint to a keepalive after what came before it, with no rows and never inside a transaction', async () => {
    const { push, stopAfterAck, recorder } = startPipeline({ checkpoint: 50n });
    push([{ kind: 'keepalive', lsn: 40n }]);
    push(transaction(100n, [memo(1)]));
    push([{ kind: 'keepalive', lsn: 150n }]);
    await until('the keepalive commit', () => recorder.acks.includes(150n));
    const [begin, change, commit] = transaction(300n, [memo(2)]);
    push([begin!, change!, { kind: 'keepalive', lsn: 400n }]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    push([commit!, { kind: 'keepalive', lsn: 300n }]);
    expect(await stopAfterAck(300n)).toEqual([
      'apply stg_memo +1',
      ...committedUpTo(150n),
      'apply stg_memo +2',
      ...committedUpTo(300n),
    ]);
  });

  it('commits a keepalive alone, as an empty batch, and each one only once', async () => {
    const { push, pipeline, recorder, stopAfterAck } = startPipeline();
    push([{ kind: 'keepalive', lsn: 500n }]);
    await until('the keepalive commit', () => recorder.acks.includes(500n));
    push([{ kind: 'keepalive', lsn: 500n }]);
    push(transaction(600n, [memo(1)]));
    push([{ kind: 'keepalive', lsn: 700n }]);
    expect(await stopAfterAck(700n)).toEqual([
      ...committedUpTo(500n),
      'apply stg_memo +1',
      ...committedUpTo(700n),
    ]);
    expect(pipeline.committedLsn()).toBe(700n);
  });

  it('commits a batch with the checkpoint of its last complete transaction, and acknowledges it after the commit', async () => {
    const { pipeline, recorder, push, stopAfterAck } = startPipeline();
    recorder.commits.close();
    push(transaction(100n, [memo(1)]));
    push(transaction(200n, [memo(2)]));
    await until('the first commit', () => recorder.timeline.includes('commit 200'));
    // Arrives while the first batch commits: it waits for the next one.
    push(transaction(300n, [memo(3)]));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(recorder.acks).toEqual([]);
    expect(pipeline.committedLsn()).toBe(0n);
    recorder.commits.release();
    expect(await stopAfterAck(300n)).toEqual([
      'apply stg_memo +1,2',
      ...committedUpTo(200n),
      'apply stg_memo +3',
      ...committedUpTo(300n),
    ]);
    expect(recorder.acks).toEqual([200n, 300n]);
    expect(pipeline.committedLsn()).toBe(300n);
  });

  it('writes a source transaction larger than a batch in chunks of one target transaction', async () => {
    const { push, stopAfterAck } = startPipeline({ maxBatchWrites: 3 });
    push(
      transaction(
        100n,
        Array.from({ length: 10 }, (_, i) => memo(i + 1)),
      ),
    );
    expect(await stopAfterAck(100n)).toEqual([
      'apply stg_memo +1,2,3',
      'apply stg_memo +4,5,6',
      'apply stg_memo +7,8,9',
      'apply stg_memo +10',
      ...committedUpTo(100n),
    ]);
  });

  it('writes a TRUNCATE alone, between what came before and after it, and tells the interceptor', async () => {
    const { push, stopAfterAck } = startPipeline();
    push(
      transaction(100n, [
        events.insert('public.part', part(1)),
        { kind: 'truncate', tables: ['public.part'] },
        events.insert('public.part', part(2)),
      ]),
    );
    expect(await stopAfterAck(100n)).toEqual([
      'apply stg_part +1; stg_part_history +1',
      'truncate public.part',
      'apply reset stg_part; reset stg_part_history',
      'apply stg_part +2; stg_part_history +2',
      ...committedUpTo(100n),
    ]);
  });

  it('pauses the source above the high-water mark and resumes it below the low-water mark', async () => {
    const { recorder, push, stopAfterAck } = startPipeline({ highWater: 10, lowWater: 2 });
    for (let n = 1; n <= 6; n++) push(transaction(BigInt(n * 100), [memo(n)]));
    const timeline = await stopAfterAck(600n);
    expect(recorder.pauses.map((pause) => pause.paused)).toEqual([true, false]);
    expect(recorder.pauses[0]!.queued).toBeGreaterThanOrEqual(10);
    expect(recorder.pauses[1]!.queued).toBeLessThanOrEqual(2);
    expect(timeline.indexOf('pause true')).toBeLessThan(timeline.indexOf('pause false'));
  });

  it('rejects run() when the sink fails, and acknowledges nothing', async () => {
    const { recorder, push, done } = startPipeline();
    recorder.failCommit = new Error('target went away');
    push(transaction(100n, [memo(1)]));
    await expect(done).rejects.toThrow('target went away');
    expect(recorder.acks).toEqual([]);
    expect(recorder.timeline).toEqual(['apply stg_memo +1', 'commit 100']);
  });

  it('finishes the transaction in progress on a graceful stop, commits and acknowledges it', async () => {
    const { recorder, push, stop, done } = startPipeline();
    push([events.begin(92n), memo(1)]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    stop.abort();
    // The rest of the transaction arrives after the stop was asked for; the next one is left.
    push([memo(2), events.commit(100n)]);
    push(transaction(200n, [memo(3)]));
    await done;
    expect(recorder.timeline).toEqual(['apply stg_memo +1,2', ...committedUpTo(100n)]);
  });

  it('rolls back on a stop inside a transaction that never completes', async () => {
    const { recorder, push, stop, done } = startPipeline({ maxBatchWrites: 2 });
    push(transaction(100n, [memo(1)]));
    await until('the first commit', () => recorder.acks.length > 0);
    push([events.begin(192n), memo(2), memo(3), memo(4)]);
    await until('the open chunk', () => recorder.timeline.includes('apply stg_memo +2,3'));
    stop.abort();
    await done;
    expect(recorder.timeline).toEqual([
      'apply stg_memo +1',
      ...committedUpTo(100n),
      'apply stg_memo +2,3',
      'rollback',
    ]);
    expect(recorder.acks).toEqual([100n]);
  }, 15_000);
});
