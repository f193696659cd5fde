import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceEvent } from '../../../src/pipeline/source-event.js';
import { captureBinlog, currentPosition } from '../../support/binlog-capture.js';
import { createTestDatabases, type TestDatabases } from '../../support/databases.js';

let db: TestDatabases;

beforeAll(async () => {
  db = await createTestDatabases('binlog backpressure');
  await db.mysql.query(
    'create table big (id int primary key, payload varchar(200) not null) engine=InnoDB',
  );
});

afterAll(async () => {
  await db?.drop();
});

/** The pipeline's bounds: pause past this many queued events, resume at a quarter. */
const pauseAt = 4_000;
const resumeAt = 1_000;

describe('BinlogSource backpressure', () => {
  it('reads a 100k-row MES transaction with a bounded queue by pausing the replica socket', {
    timeout: 180_000,
  }, async () => {
    const queue: SourceEvent[] = [];
    let paused = false;
    let pauses = 0;
    let largest = 0;
    let changes = 0;
    let committed = false;
    const stream = await captureBinlog({
      mesUrl: db.mesUrl,
      database: db.mesName,
      tables: ['big'],
      startLsn: await currentPosition(db.mysql),
      control: db.mysql,
      onEvent: (event, source) => {
        queue.push(event);
        largest = Math.max(largest, queue.length);
        if (!paused && queue.length >= pauseAt) {
          paused = true;
          pauses++;
          source.pause(true);
        }
      },
    });
    // A slow consumer: 200 events every 5 ms, well below what the source decodes.
    const drain = setInterval(() => {
      for (const event of queue.splice(0, 200)) {
        if (event.kind === 'insert') changes++;
        if (event.kind === 'commit' && changes > 0) committed = true;
      }
      if (paused && queue.length <= resumeAt) {
        paused = false;
        stream.source.pause(false);
      }
    }, 5);
    try {
      await db.mysql.query(
        "insert into big select seq, concat(repeat('x', 150), seq) from seq_1_to_100000",
      );
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const deadline = Date.now() + 150_000;
      while (!committed) {
        if (stream.failures.length > 0) throw stream.failures[0];
        if (Date.now() > deadline) throw new Error(`timed out after ${changes} changes`);
        rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(changes).toBe(100_000);
      expect(pauses).toBeGreaterThan(5);
      // At most one rows event (about 8 KiB of rows) arrives after the pause is asked for.
      expect(largest).toBeLessThan(pauseAt + 200);
      // The transaction's 16 MiB of rows never pile up: the server waits on the paused socket.
      expect(rssPeak - rssBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      clearInterval(drain);
      await stream.stop();
    }
  });
});
