import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

interface Health {
  readonly ok: boolean;
  readonly detail: string;
}

interface MetricsServer {
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus text format) and `/healthz` (200 up; 503 while a database is away,
 * and on a standby, whose detail is then "standby").
 */
export async function startMetricsServer(options: {
  readonly port: number;
  readonly registry: Registry;
  readonly health: () => Health;
}): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => {
          response.writeHead(200, { 'content-type': options.registry.contentType });
          response.end(text);
        },
        (error: unknown) => {
          response.writeHead(500, { 'content-type': 'text/plain' });
          response.end(String(error));
        },
      );
      return;
    }
    if (path === '/healthz') {
      const health = options.health();
      response.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ status: health.ok ? 'ok' : 'down', detail: health.detail }));
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('not found: try /metrics or /healthz\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, resolve);
  });
  server.unref();
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
