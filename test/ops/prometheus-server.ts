import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../support/ports.js';
import { waitFor } from '../support/replication.js';

/** Whether a binary is on PATH (scripts/test.sh installs Debian's `prometheus` package). */
export function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

/** One sample of an instant vector, as Prometheus's HTTP API returns it. */
export interface Sample {
  readonly metric: Readonly<Record<string, string>>;
  readonly value: readonly [number, string];
}

export interface PrometheusServer {
  /** Evaluates a PromQL expression now, through `/api/v1/query`. */
  query(expr: string): Promise<readonly Sample[]>;
  /** The loaded alerting rules with their health, through `/api/v1/rules`. */
  rules(): Promise<readonly { name: string; health: string; lastError?: string }[]>;
  /** Stops the server and removes its config and data; safe to call twice. */
  stop(): Promise<void>;
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url);
  const body = (await response.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`${url}: ${body.error ?? body.status}`);
  return body.data;
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A real Prometheus on 127.0.0.1 scraping `target` (host:port) every second, with `ruleFiles`
 * loaded, in a temporary directory removed by `stop()`.
 */
export async function startPrometheus(options: {
  readonly target: string;
  readonly ruleFiles: readonly string[];
}): Promise<PrometheusServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'millrace-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    JSON.stringify({
      global: { scrape_interval: '1s', evaluation_interval: '1s' },
      rule_files: options.ruleFiles.map((file) => path.resolve(file)),
      scrape_configs: [{ job_name: 'millrace', static_configs: [{ targets: [options.target] }] }],
    }),
  );
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString('utf8')).slice(-4000);
  });
  const base = `http://127.0.0.1:${port}`;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'Prometheus to be ready',
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited: ${log}`);
        return (await fetch(`${base}/-/ready`).catch(() => undefined))?.status === 200;
      },
      30_000,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    query: async (expr) =>
      (
        await getJson<{ result: Sample[] }>(
          `${base}/api/v1/query?query=${encodeURIComponent(expr)}`,
        )
      ).result,
    rules: async () =>
      (
        await getJson<{
          groups: { rules: { name: string; health: string; lastError?: string }[] }[];
        }>(`${base}/api/v1/rules?type=alert`)
      ).groups.flatMap((group) => group.rules),
    stop,
  };
}
