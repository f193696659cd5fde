/**
 * The demo's CRM workload simulator and live display (scripts/demo.sh runs it).
 *
 *   node dist/bench/demo-workload.js --seconds 30 --rate 150 --metrics-port 9187
 *
 * Writes a CRM-like mix to the reference CRM (test/fixtures/crm-schema.sql) for --seconds:
 * new sale orders with lines, orders moving draft → sent → sale → done, cancellations, deleted
 * drafts, line quantity changes, customer updates, new customers with contacts, price changes.
 * Meanwhile it shows one line per second: changes/s (from millrace's /metrics), lag and rows per
 * staging table, refreshed in place on a terminal, as plain lines otherwise. Beside it the MES
 * plans work orders for released production orders and reports progress (bench/demo-plant.ts),
 * which the return path carries back to the CRM. At the end it commits a marker customer and
 * waits until it is on the MES, then until the CRM holds every MES work order as it is.
 *
 * Databases from CRM_DATABASE_URL / MES_DATABASE_URL (defaults: the local crm and mes).
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { awaitWorkOrders, runPlant } from './demo-plant.js';

interface Options {
  readonly seconds: number;
  /** CRM transactions per second. */
  readonly rate: number;
  readonly connections: number;
  readonly metricsPort: number | undefined;
  readonly slot: string;
}

const stagingTables = [
  'stg_customer',
  'stg_customer_contact',
  'stg_material',
  'stg_production_order',
  'stg_production_order_line',
] as const;

function parseOptions(argv: readonly string[]): Options {
  const value = (flag: string, fallback: string) => {
    const index = argv.indexOf(flag);
    return index === -1 ? fallback : (argv[index + 1] ?? fallback);
  };
  const port = value('--metrics-port', process.env.MILLRACE_METRICS_PORT ?? '');
  return {
    seconds: Number(value('--seconds', '30')),
    rate: Number(value('--rate', '150')),
    connections: Number(value('--connections', '4')),
    metricsPort: port ? Number(port) : undefined,
    slot: value('--slot', process.env.MILLRACE_SLOT ?? 'millrace'),
  };
}

const random = (n: number) => 1 + Math.floor(Math.random() * n);
const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

/** Ids the workload may touch; new rows join as they are created. */
interface Known {
  partners: number;
  products: number;
  orders: number;
  lines: number;
}

type Step = (client: pg.Client, known: Known, serial: number) => Promise<number>;

/** One CRM transaction each; returns the number of rows it changed. */
const steps: readonly { weight: number; run: Step }[] = [
  {
    weight: 22,
    run: async (client, known, serial) => {
      // A new quotation with one to four lines.
      const partner = random(known.partners);
      const lines = random(4);
      await client.query('begin');
      const order = await client.query<{ id: number }>(
        `insert into sale_order (name, partner_id, state, date_order, commitment_date, amount_total, currency, note, attrs, access_token)
         values ($1, $2, 'draft', now(), now() + interval '14 days', 0, 'EUR', $3,
                 jsonb_build_object('priority', $4::text, 'plant', jsonb_build_object('code', $5::text)), gen_random_uuid())
         returning id`,
        [
          `DEMO${process.pid}-${serial}`,
          partner,
          `  demo order ${serial} `,
          pick(['High', 'normal', 'LOW']),
          pick(['P01', 'P02', 'P03']),
        ],
      );
      const orderId = Number(order.rows[0]!.id);
      const inserted = await client.query(
        `insert into sale_order_line (order_id, product_id, sequence, name, product_uom_qty, price_unit, discount, line_uom, customer_lead)
         select $1::int, 1 + floor(random() * $2::int)::int, k * 10, 'Line ' || k || ' of demo order ' || $1::int, k,
                round((1 + random() * 99)::numeric, 4),
                case when k = 2 then null else 5 end, 'Units', k * 1.5
           from generate_series(1, $3::int) as k`,
        [orderId, known.products, lines],
      );
      await client.query(
        `update sale_order set amount_total = (select coalesce(sum(product_uom_qty * price_unit), 0) from sale_order_line where order_id = $1)::numeric(16, 2)
          where id = $1`,
        [orderId],
      );
      await client.query('commit');
      known.orders = Math.max(known.orders, orderId);
      return 2 + (inserted.rowCount ?? 0);
    },
  },
  {
    weight: 30,
    run: async (client, known) => {
      // An order moves on: quotation sent, confirmed (a production order), delivered.
      const result = await client.query(
        `update sale_order set state = case state when 'draft' then 'sent' when 'sent' then 'sale' else 'done' end
          where id = $1 and state in ('draft', 'sent', 'sale')`,
        [random(known.orders)],
      );
      return result.rowCount ?? 0;
    },
  },
  {
    weight: 4,
    run: async (client, known) => {
      const result = await client.query(
        `update sale_order set state = 'cancel', note = coalesce(note, '') || ' (cancelled)' where id = $1 and state in ('draft', 'sent', 'sale')`,
        [random(known.orders)],
      );
      return result.rowCount ?? 0;
    },
  },
  {
    weight: 3,
    run: async (client, known) => {
      // A draft thrown away, lines first.
      const id = random(known.orders);
      await client.query('begin');
      const lines = await client.query(
        `delete from sale_order_line where order_id in (select id from sale_order where id = $1 and state = 'draft')`,
        [id],
      );
      const order = await client.query(`delete from sale_order where id = $1 and state = 'draft'`, [
        id,
      ]);
      await client.query('commit');
      return (lines.rowCount ?? 0) + (order.rowCount ?? 0);
    },
  },
  {
    weight: 12,
    run: async (client, known) => {
      const result = await client.query(
        'update sale_order_line set product_uom_qty = product_uom_qty + 1 where id = $1',
        [random(known.lines)],
      );
      return result.rowCount ?? 0;
    },
  },
  {
    weight: 15,
    run: async (client, known) => {
      const result = await client.query(
        `update res_partner set credit_limit = case when is_company then round((random() * 100000)::numeric, 2) end,
                attrs = jsonb_set(attrs, '{segment}', to_jsonb($2::text)), write_date = now()
          where id = $1`,
        [random(known.partners), pick(['Retail', 'Wholesale', 'OEM'])],
      );
      return result.rowCount ?? 0;
    },
  },
  {
    weight: 4,
    run: async (client, known, serial) => {
      // A new company customer with two contact persons.
      await client.query('begin');
      const company = await client.query<{ id: number }>(
        `insert into res_partner (name, ref, email, company_type, is_company, country_code, credit_limit, tags, attrs)
         values ($1, $2, $3, 'company', true, $4, 25000, '{crm,new}', jsonb_build_object('segment', 'Retail', 'address', jsonb_build_object('city', 'Lyon')))
         returning id`,
        [
          `Demo Company ${serial}`,
          ` d${serial} `,
          `sales${serial}@example.com`,
          pick(['DE', 'FR', 'IT', 'US', 'PL']),
        ],
      );
      const id = Number(company.rows[0]!.id);
      await client.query(
        `insert into res_partner (name, email, phone, company_type, is_company, parent_id, country_code)
         values ($1, $2, ' +33 1 555 0101 ', 'person', false, $5, 'FR'), ($3, $4, ' +33 1 555 0102 ', 'person', false, $5, 'FR')`,
        [
          `Contact A ${serial}`,
          ` A.${serial}@Example.com `,
          `Contact B ${serial}`,
          `b.${serial}@example.com`,
          id,
        ],
      );
      await client.query('commit');
      known.partners = Math.max(known.partners, id + 2);
      return 3;
    },
  },
  {
    weight: 10,
    run: async (client, known) => {
      const result = await client.query(
        'update product_product set list_price = round(list_price * (0.95 + random() * 0.1)::numeric, 4) where id = $1',
        [random(known.products)],
      );
      return result.rowCount ?? 0;
    },
  },
];

function chooseStep(): Step {
  const total = steps.reduce((sum, step) => sum + step.weight, 0);
  let roll = Math.random() * total;
  for (const step of steps) {
    roll -= step.weight;
    if (roll < 0) return step.run;
  }
  return steps[0]!.run;
}

/** The sum of millrace_changes_total and the lag gauge, from /metrics. */
async function readMetrics(
  port: number | undefined,
): Promise<{ changes: number; lagSeconds: number } | undefined> {
  if (port === undefined) return undefined;
  try {
    const text = await (
      await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(1_000) })
    ).text();
    let changes = 0;
    let lagSeconds = 0;
    for (const line of text.split('\n')) {
      if (line.startsWith('millrace_changes_total{'))
        changes += Number(line.slice(line.lastIndexOf(' ') + 1));
      else if (line.startsWith('millrace_lag_seconds '))
        lagSeconds = Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return { changes, lagSeconds };
  } catch {
    return undefined;
  }
}

const format = (n: number) => Math.round(n).toLocaleString('en');

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} kB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The demo's sessions: the workload's CRM connections, the display's, and two on the MES. */
async function connectAll(options: Options) {
  const crmUrl = process.env.CRM_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/crm';
  const mesUrl = new URL(process.env.MES_DATABASE_URL || 'mysql://root@127.0.0.1:3306/mes');
  const clients = Array.from(
    { length: options.connections },
    () => new pg.Client({ connectionString: crmUrl, application_name: 'millrace-demo-workload' }),
  );
  for (const client of clients) await client.connect();
  const watcher = new pg.Client({
    connectionString: crmUrl,
    application_name: 'millrace-demo-display',
  });
  await watcher.connect();
  const connectMes = () =>
    mysql.createConnection({
      host: mesUrl.hostname,
      port: mesUrl.port ? Number(mesUrl.port) : 3306,
      user: decodeURIComponent(mesUrl.username || 'root'),
      password: decodeURIComponent(mesUrl.password),
      database: decodeURIComponent(mesUrl.pathname.slice(1)),
    });
  const mes = await connectMes();
  const plantMes = await connectMes();
  return { clients, watcher, mes, plantMes };
}

/** The highest ids the CRM holds now, for the steps to pick existing rows. */
async function readKnown(watcher: pg.Client): Promise<Known> {
  const maxima = await watcher.query<Record<keyof Known, string>>(
    `select (select max(id) from res_partner) as partners, (select max(id) from product_product) as products,
            (select max(id) from sale_order) as orders, (select max(id) from sale_order_line) as lines`,
  );
  const row = maxima.rows[0]!;
  return {
    partners: Number(row.partners),
    products: Number(row.products),
    orders: Number(row.orders),
    lines: Number(row.lines),
  };
}

const tty = process.stdout.isTTY === true;

/** A line in place on a terminal (`final` keeps it), a plain line otherwise. */
function show(line: string, final = false): void {
  if (tty)
    process.stdout.write(
      `\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 200) - 1)}${final ? '\n' : ''}`,
    );
  else process.stdout.write(`${line}\n`);
}

/** One status line: the replicator's rate (since the last line) and lag, and what the MES holds. */
async function statusReporter(
  mes: mysql.Connection,
  watcher: pg.Client,
  options: Options,
): Promise<(label: string) => Promise<string>> {
  let lastMetrics = await readMetrics(options.metricsPort);
  let lastMetricsAt = performance.now();
  return async (label) => {
    const [counts] = await mes.query(
      stagingTables
        .map((table) => `select '${table}' as t, count(*) as n from ${table}`)
        .join(' union all '),
    );
    const [checkpoint] = await mes.query(
      'select cast(lsn as char) as lsn from millrace_checkpoints where slot_name = ?',
      [options.slot],
    );
    const applied = BigInt((checkpoint as { lsn: string }[])[0]?.lsn ?? '0');
    const current = (
      await watcher.query<{ lsn: string }>(
        "select pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::text as lsn",
      )
    ).rows[0]!.lsn;
    const behind = BigInt(current.split('.')[0]!) - applied;
    const metrics = await readMetrics(options.metricsPort);
    const now = performance.now();
    let rate = '';
    if (metrics && lastMetrics) {
      rate = `${format(((metrics.changes - lastMetrics.changes) * 1000) / Math.max(1, now - lastMetricsAt))} changes/s · `;
    }
    lastMetrics = metrics ?? lastMetrics;
    lastMetricsAt = now;
    const lag = `lag ${metrics ? `${metrics.lagSeconds.toFixed(2)} s, ` : ''}${formatBytes(Number(behind > 0n ? behind : 0n))} WAL`;
    const tables = (counts as { t: string; n: string }[])
      .map((entry) => `${entry.t.replace(/^stg_/, '')} ${format(Number(entry.n))}`)
      .join(' · ');
    return `${label} ${rate}${lag} · ${tables}`;
  };
}

/**
 * The workload until `end`: --rate transactions per second spread over the connections, each
 * connection one at a time.
 */
async function driveWorkload(
  clients: readonly pg.Client[],
  known: Known,
  options: Options,
  timing: { started: number; end: number },
) {
  const totals = { transactions: 0, rowsChanged: 0, failures: 0 };
  let serial = 0;
  let busy = 0;
  const workers = clients.map(async (client) => {
    while (performance.now() < timing.end) {
      const due = ((performance.now() - timing.started) / 1000) * options.rate;
      if (totals.transactions + busy >= due) {
        await new Promise((resolve) => setTimeout(resolve, 2));
        continue;
      }
      busy++;
      try {
        totals.rowsChanged += await chooseStep()(client, known, ++serial);
        totals.transactions++;
      } catch (error) {
        totals.failures++;
        await client.query('rollback').catch(() => undefined);
        if (totals.failures === 1)
          process.stderr.write(
            `demo workload: a transaction failed (${(error as Error).message}); going on\n`,
          );
      } finally {
        busy--;
      }
    }
  });
  await Promise.all(workers);
  return totals;
}

/** A status line every second until `end` (every 5 s as plain output: a log file, CI). */
async function displayUntil(
  status: (label: string) => Promise<string>,
  timing: { started: number; end: number },
): Promise<void> {
  let tick = 0;
  while (performance.now() < timing.end) {
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    tick++;
    if (!tty && tick % 5 !== 0) continue;
    const elapsed = Math.round((performance.now() - timing.started) / 1000);
    show(await status(`[${String(elapsed).padStart(3)} s]`));
  }
}

/** Caught up: a marker customer committed last is on the MES. Returns when it was committed. */
async function awaitMarker(client: pg.Client, mes: mysql.Connection): Promise<number> {
  const marker = `Demo marker ${Date.now()}`;
  const markedAt = performance.now();
  await client.query(
    `insert into res_partner (name, company_type, is_company, country_code) values ($1, 'company', true, 'DE')`,
    [marker],
  );
  for (;;) {
    const [found] = await mes.query('select 1 from stg_customer where customer_name = ?', [marker]);
    if ((found as unknown[]).length > 0) return markedAt;
    if (performance.now() - markedAt > 120_000)
      throw new Error('the replicator did not catch up within 120 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const { clients, watcher, mes, plantMes } = await connectAll(options);
  const known = await readKnown(watcher);
  const started = performance.now();
  const status = await statusReporter(mes, watcher, options);
  const timing = { started, end: started + options.seconds * 1000 };
  const [totals] = await Promise.all([
    driveWorkload(clients, known, options, timing),
    displayUntil(status, timing),
    runPlant(plantMes, timing.end),
  ]);
  const seconds = (performance.now() - started) / 1000;
  show(
    `workload done: ${format(totals.transactions)} CRM transactions changing ${format(totals.rowsChanged)} rows in ${seconds.toFixed(0)} s` +
      `${totals.failures > 0 ? ` (${totals.failures} failed and were rolled back)` : ''}`,
    true,
  );

  const markedAt = await awaitMarker(clients[0]!, mes);
  show(
    await status(
      `caught up ${((performance.now() - markedAt) / 1000).toFixed(2)} s after the last commit:`,
    ),
    true,
  );

  // The return path caught up: the CRM holds the MES's work orders as they are now.
  const returned = await awaitWorkOrders(plantMes, watcher);
  show(
    `return path: the CRM holds all ${format(returned.rows)} MES work orders ${returned.seconds.toFixed(2)} s after the plant's last change; the latest, next to their sale orders:`,
    true,
  );
  for (const line of returned.sample) show(`  ${line}`, true);

  for (const client of clients) await client.end();
  await watcher.end();
  await mes.end();
  await plantMes.end();
}

await main();
