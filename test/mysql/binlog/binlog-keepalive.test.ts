import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log/logger.js';
import { encodeBinlogPosition } from '../../../src/mysql/binlog/binlog-position.js';
import type {
  BinlogEvent,
  BinlogReader,
  BinlogReaderHandler,
} from '../../../src/mysql/binlog/binlog-reader.js';
import { BinlogSource } from '../../../src/mysql/binlog/binlog-source.js';
import type { SourceEvent } from '../../../src/pipeline/source-event.js';

/**
 * When the source hands on keepalives, given the events a server sends: the server's side (what
 * MariaDB sends for heartbeats, rotations and groups it leaves out) is tested against the real
 * server in binlog-source.test.ts and the return path's tests; here, the timing rules.
 */
class ScriptedReader implements BinlogReader {
  private handler: BinlogReaderHandler | undefined;

  async start(_from: { file: string; offset: number }, handler: BinlogReaderHandler) {
    this.handler = handler;
  }

  pause(): void {}

  async stop(): Promise<void> {}

  send(event: BinlogEvent): void {
    this.handler?.event(event);
  }
}

const at = (fileIndex: number, offset: number) => encodeBinlogPosition({ fileIndex, offset });
const file = (index: number) => `mariadb-bin.${String(index).padStart(6, '0')}`;

async function startSource(keepaliveMs: number) {
  const reader = new ScriptedReader();
  const events: SourceEvent[] = [];
  const source = new BinlogSource({
    database: 'mes',
    tables: ['work_order'],
    startLsn: at(7, 100),
    control: { query: async () => [[{ Log_name: file(7), File_size: 100 }], []] },
    reader,
    logger: silentLogger(),
    keepaliveMs,
  });
  await source.start({
    event: (event) => events.push(event),
    fail: (error) => events.push(error as never),
  });
  const kinds = () => events.map((event) => (event.kind === 'keepalive' ? event.lsn : event.kind));
  return { reader, kinds };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('BinlogSource keepalives', () => {
  it('hands on a heartbeat past the last position at most once a second, never inside a group, and a new file always', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { reader, kinds } = await startSource(1_000);
    reader.send({ kind: 'rotate', file: file(7), offset: 100 });
    reader.send({ kind: 'heartbeat', file: file(7), end: 100 });
    vi.advanceTimersByTime(1_500);
    // A heartbeat with no position (past 4 GiB) moves nothing.
    reader.send({ kind: 'heartbeat', file: file(8), end: 0 });
    reader.send({ kind: 'heartbeat', file: file(7), end: 500 });
    vi.advanceTimersByTime(500);
    reader.send({ kind: 'heartbeat', file: file(7), end: 700 });
    expect(kinds()).toEqual([at(7, 100), at(7, 500)]);
    vi.advanceTimersByTime(600);
    reader.send({ kind: 'heartbeat', file: file(7), end: 700 });
    reader.send({ kind: 'heartbeat', file: file(7), end: 700 });
    expect(kinds()).toEqual([at(7, 100), at(7, 500), at(7, 700)]);

    vi.advanceTimersByTime(2_000);
    reader.send({ kind: 'gtid', gtid: '0-1-9', sequence: 9, start: 700, standalone: false });
    reader.send({ kind: 'heartbeat', file: file(7), end: 900 });
    reader.send({
      kind: 'rows',
      operation: 'insert',
      table: 'work_order',
      columns: [{ name: 'id', type: 'int(11)' }],
      rows: [{ before: null, after: { id: '1' } }],
    });
    reader.send({ kind: 'xid', end: 1_000, timestampMs: Date.now() });
    vi.advanceTimersByTime(2_000);
    reader.send({ kind: 'heartbeat', file: file(7), end: 1_000 });
    reader.send({ kind: 'rotate', file: file(8), offset: 4 });
    reader.send({ kind: 'rotate', file: file(8), offset: 4 });
    expect(kinds()).toEqual([
      at(7, 100),
      at(7, 500),
      at(7, 700),
      'begin',
      'relation',
      'insert',
      'commit',
      at(8, 4),
    ]);
  });

  it("hands on another table's commit or DDL as a keepalive at its end, at most once a second", async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { reader, kinds } = await startSource(1_000);
    reader.send({ kind: 'rotate', file: file(7), offset: 100 });
    vi.advanceTimersByTime(1_000);
    reader.send({ kind: 'gtid', gtid: '0-1-1', sequence: 1, start: 100, standalone: false });
    reader.send({ kind: 'xid', end: 300, timestampMs: Date.now() });
    reader.send({ kind: 'gtid', gtid: '0-1-2', sequence: 2, start: 300, standalone: false });
    reader.send({ kind: 'xid', end: 400, timestampMs: Date.now() });
    vi.advanceTimersByTime(1_000);
    reader.send({ kind: 'gtid', gtid: '0-1-3', sequence: 3, start: 400, standalone: true });
    reader.send({
      kind: 'query',
      schema: 'mes',
      sql: 'create table other (id int)',
      end: 600,
      timestampMs: Date.now(),
    });
    expect(kinds()).toEqual([at(7, 100), at(7, 300), at(7, 600)]);
  });
});
