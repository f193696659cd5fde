/** Something to undo: close a connection, stop a timer, roll back. */
type Release = () => Promise<unknown> | unknown;

/**
 * Resources taken in order and given back in reverse (LIFO), each release attempted even when
 * an earlier one fails: a connection opened last may depend on one opened first.
 */
export class Releasers {
  private readonly stack: Release[] = [];

  /** Registers `release` and returns `resource`, so acquisition reads as one line. */
  hold<T>(resource: T, release: (resource: T) => Promise<unknown> | unknown): T {
    this.stack.push(() => release(resource));
    return resource;
  }

  add(release: Release): void {
    this.stack.push(release);
  }

  async releaseAll(): Promise<void> {
    while (this.stack.length > 0) {
      try {
        await this.stack.pop()!();
      } catch {
        // Teardown goes on: the remaining resources still need releasing.
      }
    }
  }
}

/** Runs `body` with a fresh set of releasers and releases them whatever happens. */
export async function withReleasers<T>(body: (releasers: Releasers) => Promise<T>): Promise<T> {
  const releasers = new Releasers();
  try {
    return await body(releasers);
  } finally {
    await releasers.releaseAll();
  }
}
