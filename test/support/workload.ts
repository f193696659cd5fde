import pg from 'pg';
import { pgClientConfig } from '../../src/postgres/pg-client.js';

/** One transaction of a workload; `n` counts the ones committed before it. */
type WorkloadStep = (client: pg.Client, n: number) => Promise<void>;

/** Runs `step` on one CRM connection, one transaction after the other, until stopped. */
export class Workload {
  transactions = 0;
  private stopped = false;
  private readonly done: Promise<void>;

  constructor(url: string, step: WorkloadStep) {
    this.done = this.loop(url, step);
  }

  private async loop(url: string, step: WorkloadStep): Promise<void> {
    const client = new pg.Client(
      pgClientConfig({ url, applicationName: 'millrace-test-workload' }),
    );
    await client.connect();
    try {
      while (!this.stopped) {
        await step(client, this.transactions);
        this.transactions++;
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** Stops after the transaction in flight, and waits for it. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
