import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { parseTargetUrl } from '../../src/mysql/mysql-client.js';
import { pgClientConfig } from '../../src/postgres/pg-client.js';
import { proxyFor, type TcpProxy, throughProxy } from './tcp-proxy.js';

/** The servers' maintenance databases: these tests create nothing on them. */
function serverUrl(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

const pgUrl = () => serverUrl(inject('crmServerUrl'), 'postgres');
const mysqlUrl = () => serverUrl(inject('mesServerUrl'), 'mysql');

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});

async function proxied(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const proxy = await proxyFor(url);
  cleanups.push(() => proxy.close());
  return { proxy, url: throughProxy(url, proxy) };
}

/** A client through `url`; `queryTimeoutMs` bounds each query's wait for its answer. */
async function pgClient(url: string, queryTimeoutMs?: number): Promise<{ client: pg.Client }> {
  const client = new pg.Client({
    ...pgClientConfig({ url, applicationName: 'millrace-test-proxy' }),
    ...(queryTimeoutMs === undefined ? {} : { query_timeout: queryTimeoutMs }),
  });
  // A cut connection reports here too; the failing query is what the tests look at.
  client.on('error', () => undefined);
  await client.connect();
  cleanups.push(() => client.end());
  return { client };
}

/** Whether `promise` is still pending after `ms`. */
async function pendingAfter(promise: Promise<unknown>, ms: number): Promise<boolean> {
  const timeout = Symbol('pending');
  const winner = await Promise.race([
    promise.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((resolve) => setTimeout(() => resolve(timeout), ms)),
  ]);
  return winner === timeout;
}

describe('TcpProxy in front of PostgreSQL', () => {
  it('forwards queries, and rewrites the URL to go through it', async () => {
    const { proxy, url } = await proxied(pgUrl());
    expect(new URL(url).port).toBe(String(proxy.port));
    const { client } = await pgClient(url);
    const { rows } = await client.query<{ n: string }>('select 41 + 1 as n');
    expect(rows).toEqual([{ n: '42' }]);
    expect(proxy.connectionCount).toBe(1);
  });

  it('cuts every connection: the next query fails with a connection error', async () => {
    const { proxy, url } = await proxied(pgUrl());
    const { client } = await pgClient(url);
    await client.query('select 1');
    proxy.cut();
    await expect(client.query('select 1')).rejects.toThrow(/terminated|ECONNRESET|not queryable/i);
    expect(proxy.connectionCount).toBe(0);
    // The proxy itself still accepts new connections.
    const again = await pgClient(url);
    await expect(again.client.query('select 1 as n')).resolves.toMatchObject({
      rows: [{ n: '1' }],
    });
  });

  it('stalls without closing: a query with a timeout times out, and one without finishes on resume', async () => {
    const { proxy, url } = await proxied(pgUrl());
    const timed = await pgClient(url, 300);
    const patient = await pgClient(url);
    proxy.stall();
    await expect(timed.client.query('select 1')).rejects.toThrow(/timeout/i);
    const waiting = patient.client.query<{ n: string }>('select 2 as n');
    expect(await pendingAfter(waiting, 300)).toBe(true);
    proxy.resume();
    await expect(waiting).resolves.toMatchObject({ rows: [{ n: '2' }] });
  });

  it('stalls one direction only: the query reaches the server, its answer waits', async () => {
    const { proxy, url } = await proxied(pgUrl());
    const { client } = await pgClient(url);
    proxy.stall('down');
    const waiting = client.query<{ n: string }>('select 3 as n');
    expect(await pendingAfter(waiting, 300)).toBe(true);
    const direct = await pgClient(pgUrl());
    const seen = await direct.client.query(
      `select 1 from pg_stat_activity where application_name = 'millrace-test-proxy' and query = 'select 3 as n'`,
    );
    expect(seen.rowCount).toBe(1);
    proxy.resume();
    await expect(waiting).resolves.toMatchObject({ rows: [{ n: '3' }] });
  });

  it('slows traffic down', async () => {
    const { proxy, url } = await proxied(pgUrl());
    const { client } = await pgClient(url);
    proxy.slow(150);
    const started = Date.now();
    await client.query('select 1');
    // One chunk up and one down, each delayed.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    proxy.resume();
  });
});

describe('TcpProxy in front of MySQL/MariaDB', () => {
  it('forwards queries, and a cut fails the next one with a connection error', async () => {
    const { proxy, url } = await proxied(mysqlUrl());
    const { options } = parseTargetUrl(url);
    const connection = await mysql.createConnection(options);
    connection.on('error', () => undefined);
    cleanups.push(async () => connection.destroy());
    const [rows] = await connection.query('select 6 * 7 as n');
    expect(rows).toEqual([{ n: 42 }]);
    proxy.cut();
    await expect(connection.query('select 1')).rejects.toMatchObject({
      code: expect.stringMatching(/PROTOCOL_CONNECTION_LOST|ECONNRESET|EPIPE|CLOSED_STATE/),
    });
  });
});
