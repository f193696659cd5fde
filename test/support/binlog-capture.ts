import { randomInt } from 'node:crypto';
import { silentLogger } from '../../src/log/logger.js';
import type { BinlogQuery } from '../../src/mysql/binlog/binlog-files.js';
import { BinlogSource } from '../../src/mysql/binlog/binlog-source.js';
import { ZongjiReader } from '../../src/mysql/binlog/zongji-reader.js';
import { parseTargetUrl } from '../../src/mysql/mysql-client.js';
import type { SourceEvent } from '../../src/pipeline/source-event.js';
import type { Lsn } from '../../src/util/lsn.js';

export interface CaptureOptions {
  readonly mesUrl: string;
  readonly database: string;
  readonly tables: readonly string[];
  readonly startLsn: Lsn;
  readonly control: BinlogQuery;
  readonly keepaliveMs?: number;
  /** Called for each event instead of only recording it (e.g. to drive backpressure). */
  readonly onEvent?: (event: SourceEvent, source: BinlogSource) => void;
}

/** A BinlogSource on the real server, recording every event it hands on. */
export interface Capture {
  readonly source: BinlogSource;
  readonly events: SourceEvent[];
  readonly failures: unknown[];
  /** Resolves once `predicate` holds for the recorded events (polling), or rejects after `timeoutMs`. */
  until(predicate: (events: readonly SourceEvent[]) => boolean, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function captureBinlog(options: CaptureOptions): Promise<Capture> {
  const { options: connection } = parseTargetUrl(options.mesUrl);
  const reader = new ZongjiReader({
    connection,
    database: options.database,
    tables: options.tables,
    // Unique per reader: the server drops an older dump connection with the same id.
    serverId: randomInt(1_000_000, 2 ** 31),
    heartbeatMs: 1_000,
  });
  const source = new BinlogSource({
    database: options.database,
    tables: options.tables,
    startLsn: options.startLsn,
    control: options.control,
    reader,
    logger: silentLogger(),
    ...(options.keepaliveMs === undefined ? {} : { keepaliveMs: options.keepaliveMs }),
  });
  const events: SourceEvent[] = [];
  const failures: unknown[] = [];
  await source.start({
    event: (event) => {
      events.push(event);
      options.onEvent?.(event, source);
    },
    fail: (error) => failures.push(error),
  });
  return {
    source,
    events,
    failures,
    async until(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(events)) {
        if (failures.length > 0) throw failures[0];
        if (Date.now() > deadline) throw new Error(`timed out; ${events.length} events so far`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    stop: () => source.stop(),
  };
}

/** The server's current binlog position, encoded: a start point that skips everything before. */
export async function currentPosition(control: BinlogQuery): Promise<Lsn> {
  const { binlogEnd, listBinlogFiles } = await import('../../src/mysql/binlog/binlog-files.js');
  return binlogEnd(await listBinlogFiles(control));
}
