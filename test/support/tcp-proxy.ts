import net from 'node:net';

/** Which way data flows: client → server (`up`), server → client (`down`), or both. */
export type Direction = 'up' | 'down' | 'both';

interface Flow {
  stalled: boolean;
}

/** One direction of one proxied connection: reads `from`, writes `to`, in order. */
class Pipe {
  private readonly queue: (Buffer | null)[] = [];
  private pumping = false;

  constructor(
    private readonly from: net.Socket,
    private readonly to: net.Socket,
    private readonly flow: Flow,
    private readonly delayMs: () => number,
  ) {
    from.on('data', (chunk: Buffer) => this.enqueue(chunk));
    from.on('end', () => this.enqueue(null));
    if (flow.stalled) from.pause();
  }

  private enqueue(chunk: Buffer | null): void {
    this.queue.push(chunk);
    void this.pump();
  }

  /** Stalled: the source is not read (so the sender's buffers fill, as on a stuck network). */
  sync(): void {
    if (this.flow.stalled) this.from.pause();
    else {
      this.from.resume();
      void this.pump();
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.flow.stalled && !this.to.destroyed) {
        const delay = this.delayMs();
        if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.flow.stalled) break;
        const chunk = this.queue.shift();
        if (chunk === null || chunk === undefined) this.to.end();
        else this.to.write(chunk);
      }
    } finally {
      this.pumping = false;
    }
  }
}

interface Link {
  readonly client: net.Socket;
  readonly server: net.Socket;
  readonly pipes: readonly Pipe[];
}

/**
 * A TCP proxy on 127.0.0.1 in front of a database, for failure tests: it can cut every
 * connection (both sides destroyed, as when a network link or a server dies), stall traffic
 * without closing anything (a hung peer), slow it down, and resume.
 */
export class TcpProxy {
  private readonly links = new Set<Link>();
  private readonly up: Flow = { stalled: false };
  private readonly down: Flow = { stalled: false };
  private delayMs = 0;

  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}

  /** Starts a proxy forwarding to `target`, listening on an ephemeral port. */
  static async start(target: { readonly host: string; readonly port: number }): Promise<TcpProxy> {
    let proxy: TcpProxy | undefined;
    const server = net.createServer((client) => proxy?.accept(client, target));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy = new TcpProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  readonly host = '127.0.0.1';

  /** Connections currently open through the proxy. */
  get connectionCount(): number {
    return this.links.size;
  }

  private accept(client: net.Socket, target: { host: string; port: number }): void {
    const server = net.connect(target.port, target.host);
    const delay = () => this.delayMs;
    const link: Link = {
      client,
      server,
      pipes: [new Pipe(client, server, this.up, delay), new Pipe(server, client, this.down, delay)],
    };
    this.links.add(link);
    const drop = () => {
      client.destroy();
      server.destroy();
      this.links.delete(link);
    };
    for (const socket of [client, server]) {
      socket.setNoDelay(true);
      socket.on('error', drop);
      socket.on('close', drop);
    }
  }

  /** Destroys every current connection, both sides; new connections are still accepted. */
  cut(): void {
    for (const link of [...this.links]) {
      link.client.destroy();
      link.server.destroy();
      this.links.delete(link);
    }
  }

  /** Stops forwarding (without closing anything) in one or both directions, new connections too. */
  stall(direction: Direction = 'both'): void {
    if (direction !== 'down') this.up.stalled = true;
    if (direction !== 'up') this.down.stalled = true;
    this.sync();
  }

  /** Forwards again at full speed whatever was stalled or slowed. */
  resume(): void {
    this.up.stalled = false;
    this.down.stalled = false;
    this.delayMs = 0;
    this.sync();
  }

  /** Delays every chunk forwarded, either way, by `delayMs` milliseconds. */
  slow(delayMs: number): void {
    this.delayMs = delayMs;
  }

  /** Cuts every connection and stops listening. */
  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private sync(): void {
    for (const link of this.links) for (const pipe of link.pipes) pipe.sync();
  }
}

/** Starts a proxy in front of the server of a database URL (postgres:// or mysql://). */
export function proxyFor(url: string): Promise<TcpProxy> {
  const parsed = new URL(url);
  const defaultPort = parsed.protocol.startsWith('mysql') ? 3306 : 5432;
  return TcpProxy.start({
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : defaultPort,
  });
}

/** The same database URL, through the proxy. */
export function throughProxy(url: string, proxy: TcpProxy): string {
  const parsed = new URL(url);
  parsed.hostname = proxy.host;
  parsed.port = String(proxy.port);
  return parsed.toString();
}
