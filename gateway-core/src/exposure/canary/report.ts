import { EventEmitter } from 'node:events';
import { chmod, lstat, rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { z } from 'zod';
import { CamgateError, defaultLogger, type Logger } from '../../util/index.js';

/**
 * How the canary process tells the gateway what it saw: newline-delimited
 * JSON over a Unix domain socket the gateway opens (`canary.socket`). A Unix
 * socket is a file, not a network port, so "the gateway listens on nothing
 * reachable from the network" still holds; who may write to it is decided by
 * its file mode (0600 by default: the canary runs as the same user or as
 * root). The gateway validates and bounds every line as it would any input.
 */

export const CANARY_REPORT_LIMITS = {
  lineBytes: 4_096, // bytes per JSON line; an attempt record is < 1 KB
  connections: 8, // reporters connected at once
  linesPerSecond: 200, // per connection; beyond, lines are dropped (the canary rate-limits itself too)
} as const;

/** One report: a connection the canary saw. */
export const canaryReportSchema = z.object({
  v: z.literal(1),
  type: z.literal('attempt'),
  source: z.string().min(1).max(64),
  port: z.number().int().min(0).max(65535),
  at: z.iso.datetime({ offset: true }),
  firstBytes: z.string().max(1024),
  suppressed: z.number().int().min(0).max(1e9),
});
export type CanaryReport = z.infer<typeof canaryReportSchema>;

export interface CanaryInboxOptions {
  /** Path of the Unix socket. A stale socket file there is replaced. */
  path: string;
  /** File mode of the socket (default 0o600). */
  mode?: number;
  logger?: Logger;
}

/** The gateway's end: accepts canary reporters on a Unix socket and emits validated reports. */
export class CanaryInbox extends EventEmitter<{ report: [CanaryReport]; rejected: [{ reason: string }] }> {
  readonly path: string;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #log: Logger;
  #closed = false;

  private constructor(path: string, server: Server, log: Logger) {
    super();
    this.path = path;
    this.#server = server;
    this.#log = log;
  }

  static async open(options: CanaryInboxOptions): Promise<CanaryInbox> {
    if (typeof options?.path !== 'string' || options.path === '' || options.path.length > 100)
      throw new TypeError('CanaryInbox option path must be a socket path of 1 to 100 characters (sun_path limit)');
    const mode = options.mode ?? 0o600;
    if (!Number.isInteger(mode) || mode < 0 || mode > 0o777)
      throw new RangeError(`CanaryInbox option mode must be a file mode from 0 to 0o777, got ${String(mode)}`);
    const log = options.logger ?? defaultLogger('exposure:canary-inbox');
    // A socket left by a gateway that did not stop cleanly is replaced; anything else at the path is not ours.
    const old = await lstat(options.path).catch(() => undefined);
    if (old && !old.isSocket())
      throw new CamgateError(
        'CAMGATE_CANARY_SOCKET',
        `${options.path} exists and is not a socket; refusing to replace it`,
      );
    if (old) await rm(options.path, { force: true });
    const server = createServer();
    const inbox = new CanaryInbox(options.path, server, log);
    server.on('connection', (s) => inbox.#accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(
          new CamgateError(
            'CAMGATE_CANARY_SOCKET',
            `cannot open the canary socket ${options.path}: ${(err as NodeJS.ErrnoException).code ?? err.message}`,
            { cause: err },
          ),
        ),
      );
      server.listen(options.path, () => resolve());
    });
    await chmod(options.path, mode);
    log.info('canary inbox open', { path: options.path });
    return inbox;
  }

  #accept(socket: Socket): void {
    if (this.#closed || this.#sockets.size >= CANARY_REPORT_LIMITS.connections) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on('error', () => undefined);
    socket.on('close', () => this.#sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let windowStart = Date.now();
    let inWindow = 0;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (let nl = buf.indexOf(10); nl >= 0; nl = buf.indexOf(10)) {
        const line = buf.subarray(0, nl);
        buf = buf.subarray(nl + 1);
        const now = Date.now();
        if (now - windowStart >= 1000) {
          windowStart = now;
          inWindow = 0;
        }
        if (++inWindow > CANARY_REPORT_LIMITS.linesPerSecond) continue;
        if (line.length > CANARY_REPORT_LIMITS.lineBytes) this.#reject('line too long');
        else this.#line(line.toString('utf8'));
      }
      if (buf.length > CANARY_REPORT_LIMITS.lineBytes) {
        this.#reject(`line longer than ${CANARY_REPORT_LIMITS.lineBytes} bytes; reporter disconnected`);
        socket.destroy();
      }
    });
  }

  #line(text: string): void {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      this.#reject('not JSON');
      return;
    }
    const r = canaryReportSchema.safeParse(value);
    if (!r.success)
      this.#reject(`invalid report: ${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''}`);
    else this.emit('report', r.data);
  }

  #reject(reason: string): void {
    this.#log.warn('canary report refused', { reason });
    this.emit('rejected', { reason });
  }

  /** Stops accepting, disconnects reporters, removes the socket file. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
    await rm(this.path, { force: true }).catch(() => undefined);
  }
}

export interface CanaryReporterOptions {
  /** The gateway's canary socket. */
  path: string;
  /** Reports kept while the gateway is away; the oldest are dropped first. */
  queueLimit?: number;
  /** Wait between reconnect attempts, ms. */
  reconnectMs?: number;
  logger?: Logger;
}

export const DEFAULT_CANARY_REPORTER_OPTIONS = {
  queueLimit: 256, // reports: ~256 KB at most
  reconnectMs: 2_000, // 2 s
} as const;

/** The canary's end: sends reports to the gateway's socket, reconnecting and queueing (bounded) while it is away. */
export class CanaryReporter extends EventEmitter<{ connected: []; disconnected: [] }> {
  readonly #o: Required<Omit<CanaryReporterOptions, 'logger'>>;
  readonly #log: Logger;
  readonly #queue: string[] = [];
  #socket: Socket | undefined;
  #connected = false;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Reports dropped because the queue was full. */
  dropped = 0;

  constructor(options: CanaryReporterOptions) {
    super();
    if (typeof options?.path !== 'string' || options.path === '')
      throw new TypeError('CanaryReporter option path must be a non-empty string');
    const d = DEFAULT_CANARY_REPORTER_OPTIONS;
    this.#o = {
      path: options.path,
      queueLimit: options.queueLimit ?? d.queueLimit,
      reconnectMs: options.reconnectMs ?? d.reconnectMs,
    };
    if (!Number.isInteger(this.#o.queueLimit) || this.#o.queueLimit < 1)
      throw new RangeError(`CanaryReporter option queueLimit must be an integer >= 1, got ${this.#o.queueLimit}`);
    if (!Number.isInteger(this.#o.reconnectMs) || this.#o.reconnectMs < 10)
      throw new RangeError(`CanaryReporter option reconnectMs must be an integer >= 10, got ${this.#o.reconnectMs}`);
    this.#log = options.logger ?? defaultLogger('exposure:canary-reporter');
    this.#connect();
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Sends one report now, or queues it until the gateway is back. */
  send(report: Omit<CanaryReport, 'v' | 'type'>): void {
    const line = JSON.stringify({ v: 1, type: 'attempt', ...report });
    if (this.#connected && this.#socket) this.#socket.write(`${line}\n`);
    else {
      this.#queue.push(line);
      if (this.#queue.length > this.#o.queueLimit) {
        this.#queue.shift();
        this.dropped++;
      }
    }
  }

  #connect(): void {
    if (this.#closed) return;
    const s = connect(this.#o.path);
    this.#socket = s;
    s.on('connect', () => {
      this.#connected = true;
      this.#log.info('connected to the gateway', { path: this.#o.path });
      for (const line of this.#queue.splice(0)) s.write(`${line}\n`);
      this.emit('connected');
    });
    s.on('data', () => undefined); // the gateway sends nothing
    s.on('error', (err: NodeJS.ErrnoException) =>
      this.#log.debug('gateway socket error', { path: this.#o.path, code: err.code }),
    );
    s.on('close', () => {
      const was = this.#connected;
      this.#connected = false;
      this.#socket = undefined;
      if (was) {
        this.#log.warn('gateway socket closed; reconnecting', { path: this.#o.path });
        this.emit('disconnected');
      }
      if (!this.#closed) this.#timer = setTimeout(() => this.#connect(), this.#o.reconnectMs);
    });
  }

  /** Flushes what the socket holds and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const s = this.#socket;
    if (s && this.#connected) await new Promise<void>((r) => s.end(() => r()));
    s?.destroy();
  }
}
