import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { createTestDatabases, type TestDatabases } from '../support/databases.js';
import {
  catchUp,
  createReplication,
  dropReplication,
  killRun,
  type RunningCli,
  replicationEnv,
  startRun,
  stopRun,
  uniqueName,
  waitFor,
  writeMappings,
} from '../support/replication.js';
import { createSchemas, sourceAndTarget } from '../support/schemas.js';
import { proxyFor, type TcpProxy, throughProxy } from '../support/tcp-proxy.js';

const crmSchema = `
  create table orders (
    id int primary key, customer text not null, qty int not null, amount numeric(12,2),
    updated_at timestamptz
  );
  create table lines (
    order_id int not null, line_no int not null, sku text not null, qty int not null,
    primary key (order_id, line_no)
  );
  create table sync_marker (id int primary key, n int not null);
`;

const mesSchema = [
  `create table stg_order (
    order_id int primary key, customer varchar(60), qty int, amount decimal(12,2),
    updated_at datetime(6)
  )`,
  `create table stg_line (
    order_id int not null, line_no int not null, sku varchar(40), qty int,
    primary key (order_id, line_no)
  )`,
  'create table stg_sync_marker (id int primary key, n int not null)',
];

const mappingYaml = `
- name: orders
  source: public.orders
  target: stg_order
  key: { order_id: id }
  columns: { customer: customer, qty: qty, amount: amount, updated_at: updated_at }
- name: lines
  source: public.lines
  target: stg_line
  key: { order_id: order_id, line_no: line_no }
  columns: { sku: sku, qty: qty }
- name: marker
  source: public.sync_marker
  target: stg_sync_marker
  key: { id: id }
  columns: { n: n }
`;

/** What the MES must hold, computed from the CRM in SQL, independently of millrace. */
const expectedOrders = `
  select id::text as id, customer, qty::text as qty, amount::text as amount,
         to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') as updated_at
    from orders order by orders.id`;
const actualOrders = `
  select cast(order_id as char) as id, customer, cast(qty as char) as qty,
         cast(amount as char) as amount, date_format(updated_at, '%Y-%m-%d %H:%i:%s.%f') as updated_at
    from stg_order order by stg_order.order_id`;
const expectedLines = `
  select order_id::text as order_id, line_no::text as line_no, sku, qty::text as qty
    from lines order by lines.order_id, lines.line_no`;
const actualLines = `
  select cast(order_id as char) as order_id, cast(line_no as char) as line_no, sku,
         cast(qty as char) as qty
    from stg_line order by stg_line.order_id, stg_line.line_no`;

const random = (n: number) => Math.floor(Math.random() * n);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` for up to `ms`; whether it came true. */
async function within(ms: number, probe: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await pause(20);
  }
  return false;
}

/** Ids each workload client owns, so that concurrent clients never wait on each other's rows. */
const idsPerClient = 3_000;

/**
 * One source transaction of about 20–200 row changes over both tables (upserts, updates and
 * deletes), sent in one round trip so the workload outpaces the replicator and batches grow.
 */
function transactionSql(client: number, tag: number): string {
  const first = client * idsPerClient + 1;
  const at = (room: number) => first + random(idsPerClient - room);
  const orders = at(80);
  const lines = at(40);
  const bumped = at(30);
  const removedLines = at(20);
  const removedOrders = at(10);
  const q = random(1_000);
  return `begin;
    insert into orders (id, customer, qty, amount, updated_at)
      select g, 'c' || g || '-' || ${tag}, ${q} + g % 7, (g * 1.25 + ${q})::numeric(12,2), clock_timestamp()
        from generate_series(${orders}, ${orders + 10 + random(60)}) g
      on conflict (id) do update set customer = excluded.customer, qty = excluded.qty,
        amount = excluded.amount, updated_at = excluded.updated_at;
    insert into lines (order_id, line_no, sku, qty)
      select g, l, 's' || ${tag} || '-' || l, l + ${q}
        from generate_series(${lines}, ${lines + 3 + random(25)}) g, generate_series(1, 3) l
      on conflict (order_id, line_no) do update set sku = excluded.sku, qty = excluded.qty;
    update orders set qty = qty + 1, updated_at = clock_timestamp()
      where id between ${bumped} and ${bumped + random(25)};
    delete from lines where order_id between ${removedLines} and ${removedLines + random(15)}
      and line_no = ${1 + random(3)};
    delete from orders where id between ${removedOrders} and ${removedOrders + random(8)};
    commit;`;
}

/** Concurrent clients committing multi-row transactions, until stopped; they can be held. */
class Workload {
  transactions = 0;
  private stopped = false;
  private readonly done: Promise<void>[];
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  private waiting = 0;

  constructor(
    url: string,
    clients: number,
    private readonly paceMs: number,
  ) {
    this.done = Array.from({ length: clients }, (_, client) => this.loop(url, client));
  }

  private async loop(url: string, client: number): Promise<void> {
    const connection = new pg.Client(
      pgClientConfig({ url, applicationName: 'millrace-test-workload' }),
    );
    await connection.connect();
    try {
      while (!this.stopped) {
        if (this.gate) {
          this.waiting++;
          await this.gate;
          this.waiting--;
        }
        await connection.query(transactionSql(client, this.transactions));
        this.transactions++;
        await pause(random(2 * this.paceMs));
      }
    } finally {
      await connection.end();
    }
  }

  /** Resolves once every client waits between two transactions, until `release`. */
  async hold(): Promise<void> {
    this.gate = new Promise((resolve) => {
      this.open = resolve;
    });
    await waitFor('the workload to pause', async () => this.waiting === this.done.length);
  }

  release(): void {
    this.gate = undefined;
    this.open?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.release();
    await Promise.all(this.done);
  }
}

type Failure = 'walsender' | 'walsender-mid-write' | 'mes-sessions' | 'mes-control' | 'mes-cut';

/**
 * The failures a run goes through: at least 20 walsender terminations (half of them timed, with
 * the MES answers held back by the proxy, while a target transaction has rows written and not
 * committed), and a few losses of the replicator's MES sessions, shuffled.
 */
function failurePlan(): Failure[] {
  const plan: Failure[] = [
    ...Array<Failure>(12).fill('walsender-mid-write'),
    ...Array<Failure>(12).fill('walsender'),
    'mes-sessions',
    'mes-sessions',
    'mes-control',
    'mes-control',
    'mes-cut',
  ];
  for (let i = plan.length - 1; i > 0; i--) {
    const j = random(i + 1);
    [plan[i], plan[j]] = [plan[j]!, plan[i]!];
  }
  return plan;
}

describe('failures while a write is in flight', () => {
  let dbs: TestDatabases;
  let proxy: TcpProxy | undefined;
  let run: RunningCli | undefined;
  let workload: Workload | undefined;
  const name = uniqueName('inflight');

  beforeAll(async () => {
    dbs = await createTestDatabases('in_flight');
    await createSchemas(dbs, crmSchema, mesSchema);
    await createReplication(dbs, name, ['orders', 'lines', 'sync_marker']);
    proxy = await proxyFor(dbs.mesUrl);
  });

  afterAll(async () => {
    await workload?.stop().catch(() => undefined);
    killRun(run);
    await run?.done;
    await proxy?.close();
    if (dbs) await dropReplication(dbs, name);
    await dbs?.drop();
  });

  /** The pid of the walsender reading the slot, 0 when nobody reads it. */
  async function walsenderPid(): Promise<number> {
    const { rows } = await dbs.pg.query<{ pid: number | null }>(
      'select active_pid as pid from pg_replication_slots where slot_name = $1',
      [name],
    );
    return Number(rows[0]?.pid ?? 0);
  }

  /** The walsender's pid once the replicator streams from the slot. */
  async function walsender(): Promise<number> {
    let pid = 0;
    await waitFor(
      'the replicator to stream again',
      async () => {
        pid = await walsenderPid();
        return pid !== 0;
      },
      90_000,
    );
    return pid;
  }

  async function terminate(pid: number): Promise<void> {
    await dbs.pg.query('select pg_terminate_backend($1)', [pid]);
  }

  /** The replicator's sessions on the MES (every session on the test database but the test's). */
  async function replicatorSessions(): Promise<number[]> {
    const [rows] = await dbs.mysql.query(
      'select id from information_schema.processlist where db = ? and id <> connection_id()',
      [dbs.mesName],
    );
    return (rows as { id: number }[]).map((row) => Number(row.id));
  }

  /** The session with an open target transaction that has written rows, if any. */
  async function writingSession(): Promise<number | undefined> {
    const [rows] = await dbs.mysql.query(
      `select t.trx_mysql_thread_id as id from information_schema.innodb_trx t
         join information_schema.processlist p on p.id = t.trx_mysql_thread_id
        where p.db = ? and p.id <> connection_id() and t.trx_rows_modified > 0`,
      [dbs.mesName],
    );
    const id = (rows as { id: number }[])[0]?.id;
    return id === undefined ? undefined : Number(id);
  }

  async function kill(ids: readonly number[]): Promise<void> {
    for (const id of ids) await dbs.mysql.query(`kill ${id}`).catch(() => undefined);
  }

  /**
   * Holds the MES's answers back until a target transaction with written rows is waiting on one,
   * then runs `failure` and lets the answers through once the session has failed (`seen`: the
   * failure reaches the replicator while the answers are held back), so the writer learns of it
   * with its write in flight. Returns whether such a moment was caught.
   */
  async function midWrite(
    failure: (writer: number) => Promise<void>,
    seen: boolean,
  ): Promise<boolean> {
    const held = proxy!;
    for (let attempt = 0; attempt < 40; attempt++) {
      await pause(random(150));
      held.stall('down');
      const writer = await writingSession();
      if (writer !== undefined) {
        await failure(writer);
        // The source stops reading the slot when it fails; unless the pipeline's queue was full
        // and paused its socket, then the failure is seen only once the answers flow again.
        if (seen) await within(1_500, async () => (await walsenderPid()) === 0);
        await pause(100);
        held.resume();
        return true;
      }
      held.resume();
    }
    return false;
  }

  /**
   * Lets the replicator catch up with the workload: a failure that comes next finds its pipeline
   * waiting for changes while a write is in flight, not waiting for that write to finish (a
   * failure is seen there only after it), which is when it can cut the write short.
   */
  async function quiet(): Promise<void> {
    await workload!.hold();
    await catchUp(dbs, 120_000);
    workload!.release();
  }

  async function inflict(failure: Failure): Promise<boolean> {
    const pid = await walsender();
    switch (failure) {
      case 'walsender':
        await pause(random(1_000));
        await terminate(pid);
        return false;
      case 'walsender-mid-write':
        await quiet();
        return midWrite(() => terminate(pid), true);
      case 'mes-sessions':
        await pause(random(1_000));
        await kill(await replicatorSessions());
        return false;
      case 'mes-control':
        // Every replicator session but the writer's, while it has a transaction open.
        // Their connections learn of it only when the answers flow again, as the writer does.
        await quiet();
        return midWrite(
          async (writer) => kill((await replicatorSessions()).filter((id) => id !== writer)),
          false,
        );
      case 'mes-cut':
        await pause(random(1_000));
        proxy!.cut();
        return false;
    }
  }

  it('loses no row when the stream or the MES sessions fail with a write in flight', async () => {
    const env = replicationEnv(dbs, name, writeMappings({ 'orders.yaml': mappingYaml }), {
      MES_DATABASE_URL: throughProxy(dbs.mesUrl, proxy!),
    });
    run = startRun(['--heartbeat', '1'], env);
    workload = new Workload(dbs.crmUrl, 2, 25);
    const plan = failurePlan();
    let caught = 0;
    const started = Date.now();
    for (const failure of plan) {
      if (await inflict(failure)) caught++;
      expect(run.child.exitCode).toBeNull();
    }
    await workload.stop();
    const transactions = workload.transactions;
    workload = undefined;
    const failed = Date.now();
    await catchUp(dbs, 180_000);
    const caughtUp = Date.now();
    const orders = await sourceAndTarget(dbs, expectedOrders, actualOrders);
    const lines = await sourceAndTarget(dbs, expectedLines, actualLines);
    process.stderr.write(
      `in-flight failures: ${plan.length} failures, ${caught} with a write in flight, ${transactions} transactions, ${orders.expected.length} orders, ${lines.expected.length} lines, failures ${failed - started} ms, catch-up ${caughtUp - failed} ms\n`,
    );
    expect(transactions).toBeGreaterThan(1_000);
    expect(caught).toBeGreaterThanOrEqual(8);
    expect(orders.actual).toEqual(orders.expected);
    expect(lines.actual).toEqual(lines.expected);
    expect((await stopRun(run)).code).toBe(0);
  }, 300_000);
});
