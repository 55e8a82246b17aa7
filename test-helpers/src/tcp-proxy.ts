import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A loopback TCP proxy for fault injection: `sever()` cuts every connection
 * (RST) and refuses new ones until `restore()`; `blackhole()` keeps the
 * connections but silently drops bytes both ways (a dead peer whose TCP
 * never says so). Listens on 127.0.0.1, port 0.
 */
export class TcpProxy {
  readonly #server: Server;
  #target: { host: string; port: number };
  readonly #pairs = new Set<[Socket, Socket]>();
  #severed = false;
  #blackholed = false;
  /** Connections accepted so far (tests assert reconnects happened). */
  accepted = 0;
  /** Every byte sent from the client side to the upstream, in order (tests inspect what the server received). */
  readonly upstreamBytes: Buffer[] = [];

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#onClient(client));
  }

  static async create(target: { host?: string; port: number }): Promise<TcpProxy> {
    const p = new TcpProxy({ host: target.host ?? '127.0.0.1', port: target.port });
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return p;
  }

  get port(): number {
    const a = this.#server.address();
    if (a === null || typeof a === 'string') throw new Error('proxy not listening');
    return a.port;
  }

  /** Number of live proxied connections. */
  get connections(): number {
    return this.#pairs.size;
  }

  /** Cuts every connection with a reset and refuses new ones until restore(). */
  sever(): void {
    this.#severed = true;
    for (const [a, b] of this.#pairs) {
      a.resetAndDestroy();
      b.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  /** Silently drops all traffic on existing and new connections until restore(). */
  blackhole(): void {
    this.#blackholed = true;
  }

  /** Points new connections at another upstream (e.g. a restarted server on a new port). */
  setTarget(target: { host?: string; port: number }): void {
    this.#target = { host: target.host ?? '127.0.0.1', port: target.port };
  }

  restore(): void {
    this.#severed = false;
    this.#blackholed = false;
  }

  async close(): Promise<void> {
    this.sever();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #onClient(client: Socket): void {
    if (this.#severed) {
      client.resetAndDestroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.#target.port, this.#target.host);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = (): void => {
      if (!this.#pairs.delete(pair)) return;
      client.destroy();
      upstream.destroy();
    };
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      from.on('data', (chunk: Buffer) => {
        if (this.#blackholed) return;
        if (from === client) this.upstreamBytes.push(chunk);
        to.write(chunk);
      });
      from.on('error', end);
      from.on('close', end);
    }
  }
}
