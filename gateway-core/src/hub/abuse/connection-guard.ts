/**
 * Caps on the hub's TCP connections (an attack run found half-sent headers
 * held 60–77 s, and 1,100 sockets from one client stopped the hub).
 *
 * - Per address: at most `maxConnectionsPerAddress` open sockets from one
 *   address key (IPv6 by /64); more are closed at once. Trusted proxies are
 *   exempt — every client behind them shares their address.
 * - Unauthenticated, overall: a socket counts until it becomes an
 *   authenticated tunnel or viewer WebSocket. When `maxUnauthenticated` is
 *   reached, the OLDEST unauthenticated socket that is not serving a complete
 *   request is closed to make room: slow sockets are old by nature, so a new
 *   sign-in gets through — and, once its headers are in, is not thrown out —
 *   while a slow flood spread over many addresses only churns itself.
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
  // Below the common open-file limit of 1024 (ulimit -n), with room for tunnels, viewers and files.
  maxUnauthenticatedConnections: 512,
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
  /** Sockets with a request being answered (count per socket: pipelined requests). */
  readonly #busy = new Map<Socket, number>();
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
    const raw = this.#raw(socket);
    if (raw) this.#unauthenticated.delete(raw);
  }

  /**
   * Marks the connection under `socket` as serving a complete request until the returned function is
   * called (the response ended). Such sockets are evicted only when every unauthenticated socket is busy:
   * a sign-in whose headers arrived is not thrown out for a flood of sockets that never finish theirs.
   */
  busy(socket: Duplex): () => void {
    const raw = this.#raw(socket);
    if (!raw) return () => undefined;
    this.#busy.set(raw, (this.#busy.get(raw) ?? 0) + 1);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const n = (this.#busy.get(raw) ?? 1) - 1;
      if (n > 0) this.#busy.set(raw, n);
      else this.#busy.delete(raw);
    };
  }

  #raw(socket: Duplex): Socket | undefined {
    return this.#open.has(socket as Socket) ? (socket as Socket) : (socket as { _parent?: Socket })._parent;
  }

  /** The oldest unauthenticated socket that is not serving a request, else the oldest of all. */
  #victim(): Socket {
    for (const s of this.#unauthenticated) if (!this.#busy.has(s)) return s;
    return this.#unauthenticated.values().next().value!;
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
      const oldest = this.#victim();
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
      this.#busy.delete(socket);
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
