import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A minimal reverse proxy for tests of `trustedProxies`: every connection to
 * it reaches the hub from 127.0.0.1 carrying `X-Forwarded-For: <client>` (or
 * `Forwarded: for=…`), with `client` fixed per proxy — so one test can play
 * an attacker and the real user behind the same proxy. Only the first
 * request's headers are rewritten (enough for a sign-in or an upgrade).
 */
export class ForwardingProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(target: number, header: (hub: string) => string) {
    this.#server = createServer((client) => {
      this.#sockets.add(client);
      client.on('close', () => this.#sockets.delete(client));
      client.on('error', () => client.destroy());
      let head = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) return;
        client.off('data', onData);
        client.pause();
        const upstream = connect(target, '127.0.0.1');
        this.#sockets.add(upstream);
        upstream.on('close', () => {
          this.#sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.on('close', () => upstream.destroy());
        const rewritten = Buffer.concat([
          head.subarray(0, end),
          Buffer.from(`\r\n${header('hub')}`),
          head.subarray(end),
        ]);
        upstream.write(rewritten);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      };
      client.on('data', onData);
    });
  }

  /** A proxy to 127.0.0.1:`target` that says its clients come from `client` (a header line without CRLF). */
  static async start(target: number, headerLine: string): Promise<ForwardingProxy> {
    const p = new ForwardingProxy(target, () => headerLine);
    await new Promise<void>((resolve) => p.#server.listen(0, '127.0.0.1', () => resolve()));
    return p;
  }

  get port(): number {
    return (this.#server.address() as { port: number }).port;
  }

  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
