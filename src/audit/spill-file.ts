import { appendFileSync, createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** Lines buffered in memory before they are appended to the file, in characters. */
const flushAt = 1 << 20;

/**
 * Items kept on disk instead of in memory (one JSON line each), read back in bounded batches:
 * the audit's differences beyond the ones it keeps, so that every one is re-checked whatever
 * their number while memory stays one batch. The file lives in a private temporary directory
 * (it holds row keys) and is removed by `dispose`.
 */
export class SpillFile<T> {
  private directory: string | undefined;
  private buffer: string[] = [];
  private buffered = 0;
  /** Items pushed since the last dispose. */
  count = 0;

  push(item: T): void {
    const line = JSON.stringify(item);
    this.buffer.push(line);
    this.buffered += line.length;
    this.count++;
    if (this.buffered >= flushAt) this.flush();
  }

  /** Every item pushed, in order, `size` at a time. */
  async *batches(size: number): AsyncGenerator<T[]> {
    this.flush();
    if (this.directory === undefined) return;
    const lines = createInterface({ input: createReadStream(this.file(this.directory)) });
    let batch: T[] = [];
    for await (const line of lines) {
      if (line === '') continue;
      batch.push(JSON.parse(line) as T);
      if (batch.length >= size) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length > 0) yield batch;
  }

  /** Removes the file; the spill can be used again afterwards. */
  dispose(): void {
    if (this.directory !== undefined) rmSync(this.directory, { recursive: true, force: true });
    this.directory = undefined;
    this.buffer = [];
    this.buffered = 0;
    this.count = 0;
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    this.directory ??= mkdtempSync(path.join(tmpdir(), 'millrace-audit-'));
    appendFileSync(this.file(this.directory), `${this.buffer.join('\n')}\n`, { mode: 0o600 });
    this.buffer = [];
    this.buffered = 0;
  }

  private file(directory: string): string {
    return path.join(directory, 'items.jsonl');
  }
}
