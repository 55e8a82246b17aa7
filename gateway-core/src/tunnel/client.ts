import { EventEmitter } from 'node:events';
import type { WebSocket } from 'ws';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import type { Channel } from './channel.js';
import { CHANNEL_CLOSE, FrameType, TUNNEL_CLOSE } from './constants.js';
import { dialHub, resolveDialTarget, type DialTarget } from './client-dial.js';
import type { TunnelTlsOptions } from './client-tls.js';
import { decodeJson, type Frame } from './frame.js';
import { parseWelcome } from './handshake.js';
import { ScramClient, startClientHandshake } from './client-auth.js';
import { Link } from './link.js';
import { GATEWAY_ID_PATTERN } from './auth.js';
import {
  DEFAULT_BACKOFF,
  DEFAULT_REPLACED_BACKOFF,
  ReconnectDelays,
  type ReplacedBackoffOptions,
  type TunnelBackoffOptions,
} from './backoff.js';
import { checkInt, resolveCommonOptions, type ResolvedCommonOptions, type TunnelCommonOptions } from './options.js';
import { Wire } from './wire.js';

export interface TunnelClientOptions extends TunnelCommonOptions {
  /** Hub tunnel URL, `wss://hub.example/tunnel` (ws:// only to loopback or with allowInsecure). */
  url: string;
  /** This gateway's id as registered at the hub. */
  gatewayId: string;
  /** This gateway's secret. It never leaves the gateway: the hub gets a SCRAM proof (docs/tunnel.md "Handshake"). */
  secret: string;
  /** Returns the announce object (camera ids and names) sent in every hello and by updateAnnounce(). */
  announce?: () => unknown;
  /** Permit ws:// to a non-loopback host. */
  allowInsecure?: boolean;
  /**
   * Local address to dial from (a multi-homed gateway choosing its uplink; the hub bench gives each simulated
   * home its own loopback address, as homes have their own public addresses). Default: chosen by the OS.
   */
  localAddress?: string;
  /** Certificate trust: a CA or a pinned fingerprint instead of the system CAs. */
  tls?: TunnelTlsOptions;
  /** Reconnect delays. */
  backoff?: TunnelBackoffOptions;
  /** How long detached channels wait for the hub before they close (session lost). */
  resumeGraceMs?: number;
  /** Connect + TLS + upgrade + welcome must finish within this, or the attempt is retried. */
  handshakeTimeoutMs?: number;
  /** Delay before retrying after 4429 (rate limited) — longer than backoff on purpose. */
  rateLimitedRetryMs?: number;
  /**
   * Retry after 4409 (another client took over with this gateway's secret):
   * `initialMs`, doubling with each takeover in a row, up to `maxMs`. Slower
   * than the normal backoff so two holders of one secret do not flap fast.
   */
  replacedBackoff?: ReplacedBackoffOptions;
  /** Source of the retry delays' randomness, in [0, 1) (tests inject one). Default: Math.random. */
  random?: () => number;
}

export const DEFAULT_TUNNEL_CLIENT_OPTIONS = {
  backoff: DEFAULT_BACKOFF, // 250 ms doubling to 2 s ±25 %; after a lost tunnel, random within 10 s
  resumeGraceMs: 60_000, // 60 s, like the hub
  handshakeTimeoutMs: 10_000, // 10 s
  rateLimitedRetryMs: 30_000, // 30 s
  replacedBackoff: DEFAULT_REPLACED_BACKOFF, // 5 s doubling to 5 min
} as const;

export type TunnelState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed';
export interface TunnelStateInfo {
  reason?: string;
  code?: string;
  nextRetryMs?: number;
}

const REFUSALS: Record<number, string> = {
  [TUNNEL_CLOSE.AUTH]: 'CAMGATE_TUNNEL_AUTH',
  [TUNNEL_CLOSE.VERSION]: 'CAMGATE_TUNNEL_VERSION',
};

/** State `code` while another client holds this gateway's connection (close 4409). */
export const TUNNEL_REPLACED_CODE = 'CAMGATE_TUNNEL_REPLACED';

/**
 * The gateway end: dials out, authenticates, accepts channels the hub opens,
 * and keeps them across reconnects (docs/tunnel.md). `refused` (4401, 4426)
 * stops retrying so wrong credentials do not hammer the hub. 4409 is not a
 * refusal: someone else authenticated with this gateway's secret, so the
 * gateway logs an error and keeps reconnecting (state `reconnecting`, code
 * CAMGATE_TUNNEL_REPLACED) — giving up would hand the home to the intruder
 * and leave a supervisor nothing to notice.
 */
export class TunnelClient extends EventEmitter<{
  state: [TunnelState, TunnelStateInfo];
  channel: [Channel];
  control: [unknown];
}> {
  readonly #target: DialTarget;
  readonly #gatewayId: string;
  readonly #scram: ScramClient;
  readonly #announce: () => unknown;
  readonly #opts: ResolvedCommonOptions;
  readonly #delays: ReconnectDelays;
  readonly #resumeGraceMs: number;
  readonly #rateLimitedRetryMs: number;
  readonly #log: Logger;
  readonly #link: Link;
  #state: TunnelState = 'idle';
  #hubMediaRelays: readonly string[] = [];
  #ws: WebSocket | undefined;
  #wire: Wire | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #closePromise: Promise<void> | undefined;
  /** Set when the gateway itself refuses the hub (bad ServerSignature, hostile challenge). */
  #refusal: { code: string; reason: string } | undefined;

  constructor(opts: TunnelClientOptions) {
    super();
    const owner = 'TunnelClient';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${owner}: options must be an object`);
    if (typeof opts.gatewayId !== 'string' || !GATEWAY_ID_PATTERN.test(opts.gatewayId)) {
      throw new TypeError(`${owner}: option gatewayId must be 1-128 characters of A-Z a-z 0-9 . _ -`);
    }
    if (typeof opts.secret !== 'string' || opts.secret.length === 0 || opts.secret.length > 1024) {
      throw new TypeError(`${owner}: option secret must be a string of 1-1024 characters`);
    }
    if (opts.announce !== undefined && typeof opts.announce !== 'function') {
      throw new TypeError(`${owner}: option announce must be a function returning a JSON value`);
    }
    this.#gatewayId = opts.gatewayId;
    this.#scram = new ScramClient(opts.secret);
    this.#announce = opts.announce ?? (() => null);
    this.#opts = resolveCommonOptions(owner, opts);
    this.#delays = new ReconnectDelays(owner, opts.backoff, opts.replacedBackoff, opts.random ?? Math.random);
    const d = DEFAULT_TUNNEL_CLIENT_OPTIONS;
    this.#resumeGraceMs = checkInt(owner, 'resumeGraceMs', opts.resumeGraceMs ?? d.resumeGraceMs, 0, 86_400_000);
    this.#target = resolveDialTarget(owner, {
      ...opts,
      handshakeTimeoutMs: opts.handshakeTimeoutMs ?? d.handshakeTimeoutMs,
      maxPayload: this.#opts.maxFrameBytes,
    });
    this.#rateLimitedRetryMs = checkInt(
      owner,
      'rateLimitedRetryMs',
      opts.rateLimitedRetryMs ?? d.rateLimitedRetryMs,
      1,
      86_400_000,
    );
    this.#log = opts.logger ?? defaultLogger('gateway:tunnel');
    this.#link = new Link('gateway', this.#opts, this.#log, {
      onOpen: (ch) => {
        if (this.listenerCount('channel') === 0) ch.close(CHANNEL_CLOSE.GOING_AWAY, 'gateway has no channel handler');
        else this.emit('channel', ch);
      },
      onControl: (msg) => this.emit('control', msg),
    });
  }

  /** The STUN/TURN URIs the hub advertised in its latest welcome (empty before the first, or from older hubs). */
  get hubMediaRelays(): readonly string[] {
    return this.#hubMediaRelays;
  }

  get state(): TunnelState {
    return this.#state;
  }

  /** Session counters (diagnostics and tests); `scryptRuns` counts key derivations (cached across reconnects). */
  stats(): ReturnType<Link['stats']> & { session: string; scryptRuns: number } {
    return { ...this.#link.stats(), session: this.#link.session, scryptRuns: this.#scram.derivations };
  }

  /** Starts dialling. Calling it again is a no-op; after close() it throws. */
  start(): void {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_TUNNEL_CLOSED', 'TunnelClient is closed');
    if (this.#state !== 'idle') return;
    this.#setState('connecting', {});
    this.#dial();
  }

  /** Sends a control message to the hub; queued while the tunnel is down. */
  sendControl(msg: unknown): void {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_TUNNEL_CLOSED', 'TunnelClient is closed');
    this.#link.sendControl(FrameType.CONTROL, msg);
  }

  /** Sends a fresh announce now if connected (otherwise the next hello carries it). */
  updateAnnounce(): void {
    if (this.#state === 'connected') this.#link.sendControl(FrameType.ANNOUNCE, this.#announce());
  }

  /** Closes the tunnel (4001) and every channel; clears every timer. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#clearTimers();
    this.#link.dispose(CHANNEL_CLOSE.GOING_AWAY, 'gateway shutting down');
    const wire = this.#wire;
    const ws = this.#ws;
    this.#wire = undefined;
    this.#ws = undefined;
    this.#setState('closed', { reason: 'closed by the gateway' });
    try {
      if (wire) await wire.close(TUNNEL_CLOSE.SHUTDOWN, 'gateway shutting down');
      else if (ws && ws.readyState !== ws.CLOSED) {
        const closed = new Promise<void>((r) => ws.once('close', () => r()));
        ws.terminate();
        await closed;
      }
    } catch (err) {
      this.#log.debug('close failed', { err });
    }
  }

  #setState(s: TunnelState, info: TunnelStateInfo): void {
    this.#state = s;
    this.emit('state', s, info);
  }

  #clearTimers(): void {
    for (const t of [this.#retryTimer, this.#handshakeTimer, this.#graceTimer]) if (t) clearTimeout(t);
    this.#retryTimer = this.#handshakeTimer = this.#graceTimer = undefined;
  }

  #dial(): void {
    this.#retryTimer = undefined;
    const ws = dialHub(this.#target, this.#delays, {
      open: (sock) => {
        if (this.#ws === sock) this.#onOpen(sock);
      },
      fail: (sock, failure, retryAfterMs) => {
        if (sock !== this.#ws) return;
        this.#ws = undefined;
        this.#retry(failure, retryAfterMs);
      },
    });
    this.#ws = ws;
  }

  #onOpen(ws: WebSocket): void {
    const wire = new Wire(ws, this.#opts, this.#log);
    this.#wire = wire;
    wire.onTick = () => this.#link.heartbeat();
    wire.on('close', (code, reason) => this.#onWireClose(wire, code, reason));
    // hello → CHALLENGE → proof → WELCOME (docs/tunnel.md "Handshake"). The secret is never sent.
    startClientHandshake(wire, this.#scram, this.#gatewayId, {
      proofExtras: () => ({
        announce: this.#safeAnnounce(),
        ...(this.#link.session ? { resume: { session: this.#link.session, recv: this.#link.recvSeq } } : {}),
      }),
      onWelcome: (f, checkSignature) => this.#onWelcome(wire, f, checkSignature),
      refuse: (reason) => this.#refuseHub(wire, reason),
    });
    this.#handshakeTimer = setTimeout(() => {
      this.#handshakeTimer = undefined;
      void wire.close(TUNNEL_CLOSE.PROTOCOL, `no welcome within ${this.#target.handshakeTimeoutMs} ms`);
    }, this.#target.handshakeTimeoutMs);
  }

  /** The gateway refuses the hub: no retry, state `refused` with CAMGATE_TUNNEL_AUTH and `reason`. */
  #refuseHub(wire: Wire, reason: string): void {
    if (wire !== this.#wire || wire.closed) return;
    this.#refusal = { code: 'CAMGATE_TUNNEL_AUTH', reason };
    void wire.close(TUNNEL_CLOSE.AUTH, 'the gateway refused the hub');
  }

  #safeAnnounce(): unknown {
    try {
      return this.#announce();
    } catch (err) {
      this.#log.error('announce() threw; announcing null', { err });
      return null;
    }
  }

  #onWelcome(wire: Wire, f: Frame, checkSignature: (sig: string) => boolean): void {
    const w = parseWelcome(decodeJson(f.payload));
    // Mutual authentication (RFC 5802 §3): only a hub holding this gateway's verifier can sign AuthMessage.
    if (!checkSignature(w.serverSignature)) {
      this.#refuseHub(
        wire,
        "the hub's server signature does not match: it does not hold this gateway's verifier (wrong hub, or a hub configured for another secret)",
      );
      return;
    }
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    const resumed = w.resumed && w.session === this.#link.session && this.#link.canResume(w.recv);
    if (w.resumed && !resumed) {
      // The hub believes it resumed a session we cannot continue: start over cleanly next time.
      this.#link.reset(CHANNEL_CLOSE.SESSION_LOST, 'tunnel session lost: inconsistent resume point');
      throw new CamgateError('CAMGATE_TUNNEL_PROTOCOL', 'inconsistent resume');
    }
    if (!resumed && this.#link.session) {
      this.#link.reset(
        CHANNEL_CLOSE.SESSION_LOST,
        'tunnel session lost: the hub did not resume it (hub restarted or resume grace expired)',
      );
    }
    this.#link.session = w.session;
    this.#hubMediaRelays = Object.freeze(w.mediaRelays);
    wire.on('frame', (fr) => this.#link.handleFrame(fr));
    this.#link.attach(wire, resumed ? w.recv : 0);
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#delays.connected();
    this.#log.info('tunnel connected', { resumed });
    this.#setState('connected', {});
  }

  #onWireClose(wire: Wire, code: number, reason: string): void {
    if (wire !== this.#wire) return;
    this.#wire = undefined;
    this.#ws = undefined;
    this.#link.detach();
    if (this.#handshakeTimer) clearTimeout(this.#handshakeTimer);
    this.#handshakeTimer = undefined;
    if (this.#state === 'closed') return;
    if (this.#state === 'connected') this.#delays.lost();
    const local = this.#refusal;
    this.#refusal = undefined;
    const refusal = local ?? (REFUSALS[code] ? { code: REFUSALS[code], reason } : undefined);
    if (refusal) {
      this.#clearTimers();
      this.#link.reset(CHANNEL_CLOSE.GOING_AWAY, `tunnel refused: ${refusal.reason}`);
      this.#log.warn('tunnel refused', { code, reason: refusal.reason });
      this.#setState('refused', refusal);
      return;
    }
    if (code === TUNNEL_CLOSE.SHUTDOWN) {
      this.#link.reset(CHANNEL_CLOSE.SESSION_LOST, `tunnel session lost: ${reason || 'hub shut down'}`);
    }
    if (code === TUNNEL_CLOSE.REPLACED) {
      this.#onReplaced(reason);
      return;
    }
    if (code === TUNNEL_CLOSE.RATE_LIMITED) {
      this.#retry({ code: 'CAMGATE_TUNNEL_RATE_LIMITED', reason }, this.#rateLimitedRetryMs);
      return;
    }
    const why = code === TUNNEL_CLOSE.PROTOCOL ? 'CAMGATE_TUNNEL_PROTOCOL' : 'CAMGATE_TUNNEL_CONNECTION_LOST';
    this.#retry({ code: why, reason: `tunnel closed (${code}${reason ? `: ${reason}` : ''})` });
  }

  /** 4409: the hub serves another client that proved this gateway's secret. Say so, and take the link back. */
  #onReplaced(reason: string): void {
    const { delayMs: delay, takeovers } = this.#delays.replaced(Date.now());
    // The hub now serves the other client: whatever ran on our channels is gone.
    this.#link.reset(CHANNEL_CLOSE.SESSION_LOST, 'tunnel session lost: another client took over this gateway');
    this.#log.error("tunnel taken over: another client connected with this gateway's secret; reconnecting", {
      reason,
      takeovers,
      nextRetryMs: delay,
    });
    this.#retry({ code: TUNNEL_REPLACED_CODE, reason: reason || 'replaced by another connection' }, delay);
  }

  #retry(info: { code: string; reason: string }, delayMs?: number): void {
    if (this.#state === 'closed' || this.#state === 'refused') return;
    const nextRetryMs = delayMs ?? this.#delays.next();
    this.#log.info('tunnel down, retrying', { ...info, nextRetryMs });
    if (this.#link.session && !this.#graceTimer) {
      this.#graceTimer = setTimeout(() => {
        this.#graceTimer = undefined;
        this.#link.reset(
          CHANNEL_CLOSE.SESSION_LOST,
          `tunnel session lost: the hub was unreachable for ${this.#resumeGraceMs} ms`,
        );
      }, this.#resumeGraceMs);
    }
    this.#retryTimer = setTimeout(() => this.#dial(), nextRetryMs);
    this.#setState('reconnecting', { ...info, nextRetryMs });
  }
}
