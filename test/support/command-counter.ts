import net from 'node:net';

/** What one client connection sent: the text of each command packet, in order. */
export interface CountedSession {
  readonly commands: string[];
}

/**
 * A TCP proxy in front of MySQL that records, per client connection, every command the client
 * sends (a packet with sequence number 0: a query, a ping, a quit). Each is one round trip; the
 * rows of a LOAD DATA LOCAL file travel in packets of the same exchange and are not counted.
 */
export class CommandCounter {
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
    readonly sessions: readonly CountedSession[],
  ) {}

  static async start(target: { host: string; port: number }): Promise<CommandCounter> {
    const sessions: CountedSession[] = [];
    const server = net.createServer((client) => {
      const upstream = net.connect(target.port, target.host);
      const session: CountedSession = { commands: [] };
      sessions.push(session);
      const read = commandReader(session);
      client.on('data', (chunk: Buffer) => {
        read(chunk);
        upstream.write(chunk);
      });
      upstream.pipe(client);
      client.on('end', () => upstream.end());
      for (const socket of [client, upstream]) socket.on('error', () => client.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new CommandCounter(server, (server.address() as net.AddressInfo).port, sessions);
  }

  /** The session that sent the most commands (the writer's, for a backfill). */
  busiest(): CountedSession {
    return this.sessions.reduce((most, session) =>
      session.commands.length > most.commands.length ? session : most,
    );
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Follows MySQL packet framing across chunks; records the start of each command packet. */
function commandReader(session: CountedSession): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let skip = 0;
  return (chunk) => {
    let data = Buffer.concat([pending, chunk]);
    for (;;) {
      if (skip > 0) {
        const taken = Math.min(skip, data.length);
        skip -= taken;
        data = data.subarray(taken);
      }
      if (skip > 0 || data.length < 4) break;
      const length = data.readUIntLE(0, 3);
      if (data[3] === 0) {
        const body = data.subarray(4, 4 + Math.min(length, 200));
        session.commands.push(body.subarray(1).toString('utf8'));
      }
      skip = length;
      data = data.subarray(4);
    }
    pending = Buffer.from(data);
  };
}
