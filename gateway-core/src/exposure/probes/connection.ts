import net from 'node:net';
import tls from 'node:tls';
import { CamgateError } from '../../util/index.js';

/** Why a read stopped. */
export type ReadEnd = 'complete' | 'timeout' | 'closed' | 'limit';

export interface ReadResult {
  data: Buffer;
  end: ReadEnd;
}

export interface OpenOptions {
  host: string;
  port: number;
  /** Connect (and TLS handshake) deadline, in ms. */
  timeoutMs: number;
  /** Wrap in TLS without verifying the certificate (we are probing, not trusting). */
  tls?: boolean;
  signal?: AbortSignal;
}

/**
 * One TCP (or TLS) connection used by a probe: connect with a deadline, write,
 * and read into a bounded buffer until a predicate says a message is complete.
 * Every exit path destroys the socket; nothing outlives `close()`.
 */
export class ProbeConnection {
  readonly socket: net.Socket;
  #buf: Buffer[] = [];
  #len = 0;
  #closed = false;
  #waker: (() => void) | undefined;
  #maxBuffered = 64 * 1024;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      if (this.#len < this.#maxBuffered) {
        const room = this.#maxBuffered - this.#len;
        const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
        this.#buf.push(part);
        this.#len += part.length;
      }
      // Beyond the limit we stop reading: a 1 MB garbage stream must not fill memory.
      if (this.#len >= this.#maxBuffered) socket.pause();
      this.#waker?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#waker?.();
    });
    socket.on('error', () => {
      /* 'close' follows; the read reports it */
    });
  }

  /**
   * Connects; rejects with CAMGATE_PROBE_REFUSED, CAMGATE_PROBE_TIMEOUT,
   * CAMGATE_PROBE_ABORTED or CAMGATE_PROBE_UNREACHABLE (with the OS code).
   */
  static open(opts: OpenOptions): Promise<ProbeConnection> {
    return new Promise((resolve, reject) => {
      if (opts.signal?.aborted) {
        reject(new CamgateError('CAMGATE_PROBE_ABORTED', 'probe aborted'));
        return;
      }
      const socket = opts.tls
        ? tls.connect({
            host: opts.host,
            port: opts.port,
            rejectUnauthorized: false,
            // SNI only for names: RFC 6066 §3 forbids IP literals in server_name.
            servername: net.isIP(opts.host) ? undefined : opts.host,
          })
        : net.connect({ host: opts.host, port: opts.port });
      const readyEvent = opts.tls ? 'secureConnect' : 'connect';
      let done = false;
      const finish = (err?: Error): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        socket.removeListener(readyEvent, onReady);
        socket.removeListener('error', onError);
        if (err) {
          socket.destroy();
          reject(err);
        } else {
          resolve(new ProbeConnection(socket));
        }
      };
      const onReady = (): void => finish();
      const onError = (e: NodeJS.ErrnoException): void =>
        finish(
          e.code === 'ECONNREFUSED'
            ? new CamgateError('CAMGATE_PROBE_REFUSED', `connection refused by ${opts.host}:${opts.port}`)
            : new CamgateError('CAMGATE_PROBE_UNREACHABLE', `${opts.host}:${opts.port}: ${e.code ?? e.message}`),
        );
      const onAbort = (): void => finish(new CamgateError('CAMGATE_PROBE_ABORTED', 'probe aborted'));
      const timer = setTimeout(
        () =>
          finish(
            new CamgateError(
              'CAMGATE_PROBE_TIMEOUT',
              `no answer from ${opts.host}:${opts.port} in ${opts.timeoutMs} ms`,
            ),
          ),
        opts.timeoutMs,
      );
      socket.once(readyEvent, onReady);
      socket.once('error', onError);
      opts.signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  write(data: string | Buffer): void {
    if (!this.#closed && !this.socket.destroyed) this.socket.write(data);
  }

  /** Bytes buffered so far (not consumed). */
  peek(): Buffer {
    if (this.#buf.length > 1) this.#buf = [Buffer.concat(this.#buf)];
    return this.#buf[0] ?? Buffer.alloc(0);
  }

  /** Drops the first `n` buffered bytes (a message that was handled). */
  consume(n: number): void {
    const all = this.peek().subarray(n);
    this.#buf = all.length ? [all] : [];
    this.#len = all.length;
    if (this.#len < this.#maxBuffered && !this.#closed) this.socket.resume();
  }

  /**
   * Waits until `complete(buffered)` returns a length (the message is that
   * long; it is removed from the buffer and returned), the buffer reaches
   * `maxBytes`, the peer closes, the deadline passes or `signal` aborts.
   */
  async read(
    complete: (buf: Buffer) => number | undefined,
    opts: { timeoutMs: number; maxBytes: number; signal?: AbortSignal },
  ): Promise<ReadResult> {
    this.#maxBuffered = opts.maxBytes;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      this.#waker?.();
    }, opts.timeoutMs);
    const onAbort = (): void => this.#waker?.();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      for (;;) {
        const buf = this.peek();
        const n = complete(buf);
        if (n !== undefined) {
          const msg = Buffer.from(buf.subarray(0, n));
          this.consume(n);
          return { data: msg, end: 'complete' };
        }
        const end: ReadEnd | undefined =
          buf.length >= opts.maxBytes ? 'limit' : this.#closed ? 'closed' : timedOut ? 'timeout' : undefined;
        if (end) {
          this.consume(buf.length);
          return { data: Buffer.from(buf), end };
        }
        if (opts.signal?.aborted) throw new CamgateError('CAMGATE_PROBE_ABORTED', 'probe aborted');
        await new Promise<void>((r) => (this.#waker = r));
        this.#waker = undefined;
      }
    } finally {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Destroys the socket; safe to call more than once. */
  close(): void {
    this.#closed = true;
    this.socket.destroy();
  }
}

/** The subject of the peer certificate of a TLS probe, as `CN=…, O=…`. */
export function certificateSubject(conn: ProbeConnection): string | undefined {
  const s = conn.socket as tls.TLSSocket;
  if (typeof s.getPeerCertificate !== 'function') return undefined;
  const cert = s.getPeerCertificate();
  if (!cert || !cert.subject) return undefined;
  return Object.entries(cert.subject)
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
    .join(', ');
}

/**
 * SHA-256 fingerprint of the peer certificate (`AA:BB:…`, as `openssl x509
 * -fingerprint -sha256` prints it): the same device presents the same
 * certificate from the LAN and through a port forward, so the gateway can
 * match the hub's outside observation to one camera (docs/exposure.md).
 */
export function certificateFingerprint(conn: ProbeConnection): string | undefined {
  const s = conn.socket as tls.TLSSocket;
  if (typeof s.getPeerCertificate !== 'function') return undefined;
  const fp = s.getPeerCertificate()?.fingerprint256;
  return typeof fp === 'string' && /^[0-9A-F]{2}(:[0-9A-F]{2}){31}$/.test(fp) ? fp : undefined;
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}
