import { EventEmitter } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { CamgateError, classifyHost, defaultLogger, normalizeAddress, type Logger } from '../../util/index.js';
import { toPrintable } from '../printable.js';
import { DEFAULT_CANARY_PORTS } from './ports.js';

/**
 * The LAN canary: listens on a LAN address, on the ports botnet scanners try
 * (ports.ts), offers nothing real and records every connection attempt.
 * Nothing legitimate on a home network connects to telnet, ADB or TR-069 on
 * an address that offers no such service, so whoever does is scanning.
 *
 * It never answers with a real login: at most a fake `login:` prompt (Mirai's
 * scanner waits for one before it sends credentials, so the prompt shows what
 * the scanner sends first), a bounded read, then close.
 */

export interface CanaryAttempt {
  /** The connecting device's address (IPv4-mapped IPv6 written as IPv4). */
  source: string;
  sourcePort: number;
  /** The canary's port it connected to. */
  port: number;
  /** ISO 8601 time of the connection. */
  at: string;
  /** What the source sent first (at most `readBytes`), printable/hex-escaped (printable.ts). */
  firstBytes: string;
  /** Attempts from this source not recorded since its last recorded one (rate limit). */
  suppressed: number;
}

export interface LanCanaryOptions {
  /** The LAN address to listen on: private or link-local (RFC 1918, RFC 4193, RFC 3927, RFC 4291). */
  address: string;
  /** TCP ports (0 = any free port, for tests). Default: DEFAULT_CANARY_PORTS. */
  ports?: readonly number[];
  /** Send a fake `login: ` prompt before reading. */
  prompt?: boolean;
  /** Bytes read from each connection at most. */
  readBytes?: number;
  /** How long a connection may stay open to send its first bytes, ms. */
  readTimeoutMs?: number;
  /** Connections held open at once; beyond, new ones are closed at once (and counted). */
  maxConnections?: number;
  /** Recorded attempts per source per minute; beyond, connections are closed at once and counted. */
  perSourcePerMinute?: number;
  /** Sources remembered for the rate limit; the least recent is forgotten first. */
  maxSources?: number;
  /** Also accept a loopback address (tests and demos only: a loopback canary sees only this host). */
  allowLoopback?: boolean;
  logger?: Logger;
}

export const DEFAULT_LAN_CANARY_OPTIONS = {
  ports: DEFAULT_CANARY_PORTS,
  prompt: true,
  readBytes: 256, // bytes: a telnet negotiation plus a user name; Mirai's own read buffer is 256 (SCANNER_RDBUF_SIZE)
  readTimeoutMs: 5_000, // 5 s: scanners send at once or never
  maxConnections: 64, // sockets; a scanner flood cannot hold more file descriptors than this
  perSourcePerMinute: 30, // recorded attempts; the first one is what raises the flag, the rest are evidence
  maxSources: 1_024, // sources
} as const;

interface Bucket {
  tokens: number;
  last: number;
  suppressed: number;
}

function checkInt(name: string, v: unknown, min: number, max: number): number {
  if (typeof v !== 'number') throw new TypeError(`LanCanary option ${name} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < min || v > max)
    throw new RangeError(`LanCanary option ${name} must be an integer from ${min} to ${max}, got ${v}`);
  return v;
}

/** Throws unless `address` is a private or link-local IP literal (or loopback with `allowLoopback`). */
export function assertCanaryAddress(address: unknown, allowLoopback = false): string {
  if (typeof address !== 'string')
    throw new TypeError(`LanCanary option address must be a string, got ${typeof address}`);
  const c = classifyHost(address);
  if (c === 'private' || c === 'link-local' || (allowLoopback && c === 'loopback')) return address;
  throw new CamgateError(
    'CAMGATE_CANARY_ADDRESS',
    `the canary listens only on a private or link-local LAN address (10/8, 172.16/12, 192.168/16, fc00::/7, ` +
      `169.254/16, fe80::/10); ${JSON.stringify(address)} is ${c === 'name' ? 'a name, not an address' : c}. ` +
      'A canary on a public address would be scanned by the whole internet and flag nothing about your LAN.',
  );
}

type Resolved = Required<Omit<LanCanaryOptions, 'logger' | 'address' | 'allowLoopback' | 'ports'>> & {
  ports: number[];
};

export class LanCanary extends EventEmitter<{ attempt: [CanaryAttempt] }> {
  readonly address: string;
  readonly #o: Resolved;
  readonly #log: Logger;
  readonly #servers: Server[] = [];
  readonly #sockets = new Set<Socket>();
  readonly #buckets = new Map<string, Bucket>();
  #state: 'running' | 'closed' = 'running';
  /** Connections closed at once because `maxConnections` were open (not attributed to a source). */
  overflow = 0;

  private constructor(o: Resolved, address: string, log: Logger) {
    super();
    this.#o = o;
    this.address = address;
    this.#log = log;
  }

  /** Validates options and listens on every port; if one port cannot be bound, none stays open. */
  static async start(options: LanCanaryOptions): Promise<LanCanary> {
    if (typeof options !== 'object' || options === null) throw new TypeError('LanCanary options must be an object');
    const address = assertCanaryAddress(options.address, options.allowLoopback === true);
    const d = DEFAULT_LAN_CANARY_OPTIONS;
    const ports = options.ports ?? d.ports;
    if (!Array.isArray(ports) || ports.length === 0 || ports.length > 64)
      throw new RangeError('LanCanary option ports must be a list of 1 to 64 TCP ports');
    ports.forEach((p, i) => checkInt(`ports[${i}]`, p, 0, 65535));
    const o = {
      ports: [...ports],
      prompt: options.prompt ?? d.prompt,
      readBytes: checkInt('readBytes', options.readBytes ?? d.readBytes, 1, 4096),
      readTimeoutMs: checkInt('readTimeoutMs', options.readTimeoutMs ?? d.readTimeoutMs, 10, 60_000),
      maxConnections: checkInt('maxConnections', options.maxConnections ?? d.maxConnections, 1, 10_000),
      perSourcePerMinute: checkInt('perSourcePerMinute', options.perSourcePerMinute ?? d.perSourcePerMinute, 1, 10_000),
      maxSources: checkInt('maxSources', options.maxSources ?? d.maxSources, 1, 1_000_000),
    };
    if (typeof o.prompt !== 'boolean') throw new TypeError('LanCanary option prompt must be a boolean');
    const canary = new LanCanary(o, address, options.logger ?? defaultLogger('exposure:canary'));
    try {
      for (const port of o.ports) await canary.#listen(port);
    } catch (err) {
      await canary.close();
      throw err;
    }
    canary.#log.info('canary listening', { address, ports: canary.ports });
    return canary;
  }

  /** The bound ports, in the order given (real numbers where 0 was asked). */
  get ports(): number[] {
    return this.#servers.map((s) => {
      const a = s.address();
      return typeof a === 'object' && a ? a.port : 0;
    });
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const server = createServer((s) => this.#accept(s, server));
      server.once('error', (err: NodeJS.ErrnoException) => {
        const hint =
          err.code === 'EACCES'
            ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE; see docs/exposure.md "Compromise behaviour")'
            : err.code === 'EADDRNOTAVAIL'
              ? ' (the address is not on any interface of this host)'
              : '';
        reject(
          new CamgateError(
            'CAMGATE_CANARY_LISTEN',
            `canary cannot listen on ${this.address} port ${port}: ${err.code ?? err.message}${hint}`,
            { cause: err },
          ),
        );
      });
      server.listen({ host: this.address, port, exclusive: true }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.#log.warn('canary listener error', { port, error: err }));
        this.#servers.push(server);
        resolve();
      });
    });
  }

  /** Token bucket per source: `perSourcePerMinute` recorded attempts per minute, bursting to the same. */
  #admit(source: string, now: number): Bucket | undefined {
    let b = this.#buckets.get(source);
    if (!b) {
      if (this.#buckets.size >= this.#o.maxSources) this.#buckets.delete(this.#buckets.keys().next().value!);
      b = { tokens: this.#o.perSourcePerMinute, last: now, suppressed: 0 };
    }
    this.#buckets.delete(source); // re-insert: the Map's order is least recently seen first
    this.#buckets.set(source, b);
    b.tokens = Math.min(this.#o.perSourcePerMinute, b.tokens + ((now - b.last) * this.#o.perSourcePerMinute) / 60_000);
    b.last = now;
    if (b.tokens < 1) {
      b.suppressed++;
      return undefined;
    }
    b.tokens -= 1;
    return b;
  }

  #accept(socket: Socket, server: Server): void {
    socket.on('error', () => undefined); // resets are what scanners do; nothing to report
    if (this.#state !== 'running' || this.#sockets.size >= this.#o.maxConnections) {
      this.overflow++;
      socket.destroy();
      return;
    }
    const source = normalizeAddress(socket.remoteAddress);
    const at = new Date();
    const bucket = this.#admit(source, at.getTime());
    if (!bucket) {
      socket.destroy();
      return;
    }
    const a = server.address();
    const port = typeof a === 'object' && a ? a.port : 0;
    this.#sockets.add(socket);
    const chunks: Buffer[] = [];
    let got = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.#sockets.delete(socket);
      socket.destroy();
      const suppressed = bucket.suppressed;
      bucket.suppressed = 0;
      const attempt: CanaryAttempt = {
        source,
        sourcePort: socket.remotePort ?? 0,
        port,
        at: at.toISOString(),
        firstBytes: toPrintable(Buffer.concat(chunks).subarray(0, this.#o.readBytes)),
        suppressed,
      };
      this.#log.info('canary touched', { ...attempt });
      this.emit('attempt', attempt);
    };
    const timer = setTimeout(finish, this.#o.readTimeoutMs);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      got += d.length;
      if (got >= this.#o.readBytes) finish();
    });
    socket.on('end', finish);
    socket.on('close', finish);
    // A fake prompt, never a real login: nothing typed here is checked or answered.
    if (this.#o.prompt) socket.write('login: ');
  }

  /** Stops listening and closes every open connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
          }),
      ),
    );
    this.#servers.length = 0;
    this.#log.info('canary closed', { address: this.address });
  }
}
