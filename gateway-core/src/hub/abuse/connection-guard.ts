/**
 * Caps on the hub's TCP connections (issue 12 finding 4: half-sent headers
 * were held 60–77 s and 1,100 sockets from one client stopped the hub).
 *
 * - Per address: at most `maxConnectionsPerAddress` open sockets from one
 *   address key (IPv6 by /64); more are closed at once. Trusted proxies are
 *   exempt — every client behind them shares their address.
 * - Unauthenticated, overall: a socket counts until it becomes an
 *   authenticated tunnel or viewer WebSocket. When `maxUnauthenticated` is
 *   reached, the OLDEST unauthenticated socket is closed to make room: slow
 *   sockets are old by nature, so a new sign-in gets through while a slow
 *   flood spread over many addresses only churns itself.
 * - A socket that has sent nothing within `firstByteTimeoutMs` is closed
 *   (Node's headersTimeout only starts with the first byte of a request).
 *
 * The socket seen here is the TCP socket (before TLS), so TLS handshakes that
 * never finish are capped too.
 */
import type { Server } from 'node:net';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { addressKey, type Logger } from '../../util/index.js';

export interface ConnectionLimits {
  /** Open sockets one client address may hold (trusted proxies exempt). */
  maxConnectionsPerAddress?: number;
  /** Sockets not yet authenticated, all addresses together; beyond it the oldest is closed. */
  maxUnauthenticatedConnections?: number;
  /** A socket must send its first byte within this time (ms). */
  firstByteTimeoutMs?: number;
}

export const DEFAULT_CONNECTION_LIMITS = {
  maxConnectionsPerAddress: 64,
  maxUnauthenticatedConnections: 1024,
  firstByteTimeoutMs: 10_000, // 10 s
} as const;

export interface ConnectionGuardStats {
  open: number;
  unauthenticated: number;
  /** Sockets closed because their address had too many. */
  refusedPerAddress: number;
  /** Unauthenticated sockets closed to make room for new ones. */
  evicted: number;
  /** Sockets closed for sending nothing. */
  silent: number;
}

export class ConnectionGuard {
  readonly #o: Required<ConnectionLimits>;
  readonly #trusted: (address: string | undefined) => boolean;
  readonly #log: Logger;
  readonly #perAddress = new Map<string, number>();
  /** Insertion order = age: the first entry is the oldest unauthenticated socket. */
  readonly #unauthenticated = new Set<Socket>();
  readonly #open = new Set<Socket>();
  readonly #stats = { refusedPerAddress: 0, evicted: 0, silent: 0 };
  #lastWarn = 0;

  constructor(limits: ConnectionLimits, trusted: (address: string | undefined) => boolean, log: Logger) {
    this.#o = resolveConnectionLimits(limits);
    this.#trusted = trusted;
    this.#log = log;
  }

  get stats(): ConnectionGuardStats {
    return { open: this.#open.size, unauthenticated: this.#unauthenticated.size, ...this.#stats };
  }

  /** Watches every connection `server` accepts (call before it listens). */
  attach(server: Server): void {
    server.on('connection', (socket: Socket) => this.#onConnection(socket));
  }

  /** Marks the connection under `socket` (the TCP socket, or a TLS socket over it) as authenticated. */
  authenticated(socket: Duplex): void {
    const raw = this.#open.has(socket as Socket) ? (socket as Socket) : (socket as { _parent?: Socket })._parent;
    if (raw) this.#unauthenticated.delete(raw);
  }

  #onConnection(socket: Socket): void {
    const key = addressKey(socket.remoteAddress);
    const exempt = this.#trusted(socket.remoteAddress);
    const n = this.#perAddress.get(key) ?? 0;
    if (!exempt && n >= this.#o.maxConnectionsPerAddress) {
      this.#stats.refusedPerAddress++;
      this.#warn('connection refused: too many from one address', { client: key });
      socket.destroy();
      return;
    }
    while (this.#unauthenticated.size >= this.#o.maxUnauthenticatedConnections) {
      const oldest = this.#unauthenticated.values().next().value!;
      this.#unauthenticated.delete(oldest);
      this.#stats.evicted++;
      this.#warn('unauthenticated connection closed to make room', { client: addressKey(oldest.remoteAddress) });
      oldest.destroy();
    }
    this.#perAddress.set(key, n + 1);
    this.#open.add(socket);
    this.#unauthenticated.add(socket);
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) {
        this.#stats.silent++;
        socket.destroy();
      }
    }, this.#o.firstByteTimeoutMs);
    timer.unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.#open.delete(socket);
      this.#unauthenticated.delete(socket);
      const left = (this.#perAddress.get(key) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(key, left);
      else this.#perAddress.delete(key);
    });
  }

  /** At most one warning a second: a flood must not turn into a log flood. */
  #warn(msg: string, fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.#lastWarn < 1000) return;
    this.#lastWarn = now;
    this.#log.warn(msg, { ...fields, ...this.stats });
  }
}

export function resolveConnectionLimits(limits: ConnectionLimits = {}): Required<ConnectionLimits> {
  const o = { ...DEFAULT_CONNECTION_LIMITS, ...limits };
  for (const [name, v] of Object.entries(o)) {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
      throw new TypeError(`hub option connections.${name}: ${String(v)} is not allowed (a positive integer)`);
    }
    if (v < 1) throw new RangeError(`hub option connections.${name}: ${v} is not allowed (>= 1)`);
  }
  return o;
}
