import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import { CamgateError, type Logger } from '../util/index.js';
import { TUNNEL_CLOSE } from './constants.js';
import { decodeFrame, type Frame } from './frame.js';

export interface WireOptions {
  heartbeatMs: number;
  deadAfterMs: number;
  maxFrameBytes: number;
}

/** After close() a peer that does not finish the closing handshake is cut off after this long. */
const CLOSE_TIMEOUT_MS = 2_000;

/** ws `close` reasons are limited to 123 bytes (RFC 6455 §5.5: control frame payload ≤ 125 bytes). */
export function clampReason(reason: string): string {
  let r = reason;
  while (Buffer.byteLength(r) > 123) r = r.slice(0, -1);
  return r;
}

/**
 * The socket under a ws WebSocket. ws keeps it in `_socket` (set before
 * `open`, for client and server alike); it is not in ws's typings, so it is
 * read defensively and batching is simply off if it is ever missing.
 */
function underlyingSocket(ws: WebSocket): Pick<Duplex, 'cork' | 'uncork'> | undefined {
  const s = (ws as unknown as { _socket?: unknown })._socket as Partial<Duplex> | undefined;
  return s && typeof s.cork === 'function' && typeof s.uncork === 'function'
    ? (s as Pick<Duplex, 'cork' | 'uncork'>)
    : undefined;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One WebSocket carrying tunnel frames: decodes binary messages, keeps the
 * heartbeat (ping every heartbeatMs, terminate after deadAfterMs without any
 * traffic or pong), turns framing errors into close 4400, and emits `close`
 * exactly once.
 *
 * Write batching: every frame is its own WebSocket message, and ws writes
 * each message to the socket at once — one `writev` system call per frame.
 * The tunnel sends in bursts (a relayed response and its piggybacked ack, a
 * pipelined client's requests, the frames read from one TCP segment), so the
 * first send in a tick corks the socket and a `process.nextTick` uncorks it:
 * everything sent in that tick leaves in one write. nextTick runs before any
 * I/O is polled again, so no frame waits for anything but the code already
 * running — batching adds no latency (docs/tunnel.md "Write batching").
 */
export class Wire extends EventEmitter<{ frame: [Frame]; close: [code: number, reason: string] }> {
  readonly ws: WebSocket;
  /** Called on every heartbeat tick while open (the owner sends a standalone ACK if one is due). */
  onTick: (() => void) | undefined;
  /**
   * Skip our ping on a tick when the peer pinged us since the last one (the hub sets it): the peer's ping and
   * our automatic pong (RFC 6455 §5.5.3) already prove both ends alive, so one ping/pong pair per interval is
   * enough. A hub holding a thousand idle tunnels then sends a pong per gateway per interval instead of a ping,
   * a pong and an ACK (`npm run bench:hub`, hub idle CPU).
   */
  skipPingWhenPeerPings = false;
  #peerPinged = false;
  #opts: WireOptions;
  #log: Logger;
  /** Corked for the rest of this tick (see the class comment); undefined: batching unavailable. */
  readonly #socket: Pick<Duplex, 'cork' | 'uncork'> | undefined;
  #corked = false;
  #batches = 0;
  #lastSeen = performance.now();
  #heartbeat: NodeJS.Timeout;
  #closeTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;
  /** Set when we decide why the socket goes (dead peer), since ws reports 1006 then. */
  #localReason: { code: number; reason: string } | undefined;

  constructor(ws: WebSocket, opts: WireOptions, log: Logger) {
    super();
    this.ws = ws;
    this.#opts = opts;
    this.#log = log;
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
    this.#socket = underlyingSocket(ws);
    ws.on('message', this.#onMessage);
    ws.on('pong', this.#touch);
    ws.on('ping', this.#onPing);
    ws.on('error', this.#onError);
    ws.on('close', this.#onClose);
    this.#heartbeat = setInterval(this.#tick, opts.heartbeatMs);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends one frame as one binary WebSocket message; frames sent in the same tick share one socket write. */
  send(buf: Buffer): void {
    if (this.#closed || this.ws.readyState !== this.ws.OPEN) return;
    if (!this.#corked && this.#socket) {
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.ws.send(buf, { binary: true }, this.#onSent);
  }

  /** How many times the socket was corked so far: one per batch of frames (diagnostics and tests). */
  get batches(): number {
    return this.#batches;
  }

  #uncork = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.#batches++;
    // Safe on a closed or destroyed socket: Writable#uncork then only drops the count.
    this.#socket?.uncork();
  };

  #onSent = (err?: Error): void => {
    // A failed write also closes the socket; 'close' reports it, so this is only a trace.
    if (err) this.#log.debug('send failed', { err });
  };

  /** Starts the closing handshake; resolves once the socket is fully closed. */
  close(code: number, reason: string): Promise<void> {
    if (!this.#closed && !this.#closeTimer) {
      this.#localReason ??= { code, reason };
      try {
        this.ws.close(code, clampReason(reason));
      } catch {
        this.ws.terminate();
      }
      this.#closeTimer = setTimeout(() => this.ws.terminate(), CLOSE_TIMEOUT_MS);
    }
    return this.#closedPromise;
  }

  /** Drops the TCP connection at once (dead peer). */
  terminate(code: number, reason: string): void {
    this.#localReason ??= { code, reason };
    this.ws.terminate();
  }

  whenClosed(): Promise<void> {
    return this.#closedPromise;
  }

  #touch = (): void => {
    this.#lastSeen = performance.now();
  };

  #onPing = (): void => {
    this.#touch();
    this.#peerPinged = true;
  };

  #tick = (): void => {
    const idle = performance.now() - this.#lastSeen;
    if (idle > this.#opts.deadAfterMs) {
      this.#log.info('peer dead', { idleMs: Math.round(idle) });
      this.terminate(1006, `peer dead: no traffic for ${this.#opts.deadAfterMs} ms`);
      return;
    }
    const peerPinged = this.#peerPinged;
    this.#peerPinged = false;
    if (this.ws.readyState === this.ws.OPEN) {
      if (!(this.skipPingWhenPeerPings && peerPinged)) this.ws.ping();
      this.onTick?.();
    }
  };

  #onMessage = (data: RawData, isBinary: boolean): void => {
    this.#touch();
    if (this.#closed || this.#closeTimer) return;
    try {
      if (!isBinary)
        throw new CamgateError('CAMGATE_TUNNEL_FRAMING', 'text messages are not part of the tunnel protocol');
      const frame = decodeFrame(toBuffer(data), this.#opts.maxFrameBytes);
      this.emit('frame', frame);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === 'CAMGATE_TUNNEL_FRAMING' || code === 'CAMGATE_TUNNEL_PROTOCOL') {
        this.#log.warn('protocol violation', { err });
        void this.close(TUNNEL_CLOSE.PROTOCOL, (err as Error).message);
      } else {
        // A listener of ours threw (e.g. a user's `message` handler): log it, keep the tunnel.
        this.#log.error('frame handler failed', { err });
      }
    }
  };

  #onError = (err: Error): void => {
    this.#log.debug('socket error', { err });
  };

  #onClose = (code: number, reasonBuf: Buffer): void => {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#heartbeat);
    if (this.#closeTimer) clearTimeout(this.#closeTimer);
    this.#uncork();
    this.ws.off('message', this.#onMessage);
    this.ws.off('pong', this.#touch);
    this.ws.off('ping', this.#onPing);
    // 'error' stays attached: ws may still report late errors and an unhandled one would crash.
    // What we decided (close/terminate) is the better explanation than ws's echo or 1006.
    const why = this.#localReason ?? { code, reason: reasonBuf.toString('utf8') };
    this.emit('close', why.code, why.reason);
    this.#resolveClosed();
  };
}
