import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { defaultLogger, normalizeAddress, type Logger } from '../util/index.js';
import { CHANNEL_CLOSE, FrameType, TUNNEL_CLOSE, TUNNEL_PROTOCOL_VERSION } from './constants.js';
import { decodeJson, encodeFrame, encodeJson, type Frame } from './frame.js';
import { helloVersion, parseHello, parseProof, type Proof } from './handshake.js';
import { checkInt, resolveCommonOptions, type ResolvedCommonOptions, type TunnelCommonOptions } from './options.js';
import { TunnelPeer } from './peer.js';
import { AddressLimiter } from './rate-limit.js';
import { ScramAuthority, type LookupVerifier, type PendingAuth } from './server-auth.js';
import { Wire } from './wire.js';

/** What the optional `authorize` hook is asked, after the gateway proved it knows its secret. */
export interface AuthRequest {
  gatewayId: string;
  version: number;
  announce: unknown;
  remoteAddress: string;
}
export type AuthDecision = { ok: true } | { ok: false; reason: string };

export interface TunnelServerOptions extends TunnelCommonOptions {
  /**
   * Returns the gateway's stored verifier (`makeVerifier`, `scram-scrypt$…`), or undefined for an
   * unknown id. The hub never sees a secret (docs/tunnel.md "Handshake").
   */
  lookupVerifier: LookupVerifier;
  /** Extra check after a valid proof (an address allow-list…). A refusal is logged with its reason and answered 4401. */
  authorize?: (req: AuthRequest) => Promise<AuthDecision> | AuthDecision;
  /**
   * Key (≥ 16 bytes) of the fake salts unknown ids are challenged with. Random per process by default;
   * hubs serving one name behind a load balancer should share one, so their fake salts agree too.
   */
  fakeSaltKey?: Buffer;
  /** How long a gateway's channels and session survive a dropped tunnel. */
  resumeGraceMs?: number;
  /** A new connection must send hello within this time or is closed (4400). */
  helloTimeoutMs?: number;
  /** Connections from one address that may be waiting for hello/authentication at once; beyond it HTTP 429. */
  maxPendingHellosPerIp?: number;
  /**
   * Gateway connections, from all addresses together, that may be in their handshake (upgraded, hello or
   * proof pending) at once. Beyond it the upgrade is answered HTTP 503 with `Retry-After: busyRetryAfterS`,
   * which TunnelClient honours with jitter: a storm of returning gateways queues outside, not in the hub.
   */
  maxPendingHandshakes?: number;
  /** The `Retry-After` (s) of that 503. */
  busyRetryAfterS?: number;
  /** Failed authentications from one address within authFailureWindowMs before it gets 4429. */
  maxAuthFailuresPerIp?: number;
  /** Sliding window for maxAuthFailuresPerIp. */
  authFailureWindowMs?: number;
  /**
   * The client address of an upgrade request, for the limits above and for logs (the hub passes its
   * trusted-proxy-aware resolver). Default: the socket's peer address.
   */
  clientAddress?: (req: IncomingMessage) => string;
}

export const DEFAULT_TUNNEL_SERVER_OPTIONS = {
  resumeGraceMs: 60_000, // 60 s
  helloTimeoutMs: 5_000, // 5 s
  maxPendingHellosPerIp: 8,
  maxPendingHandshakes: 64,
  busyRetryAfterS: 2, // s: a turned-away gateway returns 2-4 s later (TunnelClient adds up to 100 %)
  maxAuthFailuresPerIp: 10,
  authFailureWindowMs: 60_000, // 60 s
} as const;

type State = 'running' | 'closing' | 'closed';

/**
 * The hub end. The caller's http(s) server routes `/tunnel` upgrades to
 * `handleUpgrade`. One TunnelPeer per gateway id, kept across reconnects.
 */
export interface TunnelServerEvents {
  /** A gateway connected for the first time (the peer object lives across reconnects). */
  peer: [TunnelPeer];
  /** A connection proved its gateway's secret: `socket` is the upgraded socket (connection caps count it as authenticated). */
  authenticated: [socket: Duplex, gatewayId: string];
}

export class TunnelServer extends EventEmitter<TunnelServerEvents> {
  readonly #opts: ResolvedCommonOptions & typeof DEFAULT_TUNNEL_SERVER_OPTIONS;
  readonly #auth: ScramAuthority;
  readonly #authorize: TunnelServerOptions['authorize'];
  readonly #log: Logger;
  readonly #wss: WebSocketServer;
  readonly #peers = new Map<string, TunnelPeer>();
  readonly #handshakes = new Set<Wire>();
  /** Upgrades accepted whose handshake has not finished (counted from the upgrade, before the WebSocket). */
  #pending = 0;
  #busyAnswers = 0;
  readonly #limiter: AddressLimiter;
  readonly #clientAddress: (req: IncomingMessage) => string;
  #state: State = 'running';
  #closePromise: Promise<void> | undefined;

  constructor(opts: TunnelServerOptions) {
    super();
    const owner = 'TunnelServer';
    if (opts === null || typeof opts !== 'object') throw new TypeError(`${owner}: options must be an object`);
    if (typeof opts.lookupVerifier !== 'function') {
      throw new TypeError(
        `${owner}: option lookupVerifier must be a function (gatewayId) => Promise<string | undefined>`,
      );
    }
    if (opts.authorize !== undefined && typeof opts.authorize !== 'function') {
      throw new TypeError(`${owner}: option authorize must be a function (req) => Promise<AuthDecision>`);
    }
    if (opts.fakeSaltKey !== undefined && (!Buffer.isBuffer(opts.fakeSaltKey) || opts.fakeSaltKey.length < 16)) {
      throw new TypeError(`${owner}: option fakeSaltKey must be a Buffer of at least 16 bytes`);
    }
    const d = DEFAULT_TUNNEL_SERVER_OPTIONS;
    this.#opts = {
      ...resolveCommonOptions(owner, opts),
      resumeGraceMs: checkInt(owner, 'resumeGraceMs', opts.resumeGraceMs ?? d.resumeGraceMs, 0, 86_400_000),
      helloTimeoutMs: checkInt(owner, 'helloTimeoutMs', opts.helloTimeoutMs ?? d.helloTimeoutMs, 10, 600_000),
      maxPendingHellosPerIp: checkInt(
        owner,
        'maxPendingHellosPerIp',
        opts.maxPendingHellosPerIp ?? d.maxPendingHellosPerIp,
        1,
        100_000,
      ),
      maxPendingHandshakes: checkInt(
        owner,
        'maxPendingHandshakes',
        opts.maxPendingHandshakes ?? d.maxPendingHandshakes,
        1,
        1_000_000,
      ),
      busyRetryAfterS: checkInt(owner, 'busyRetryAfterS', opts.busyRetryAfterS ?? d.busyRetryAfterS, 1, 600),
      maxAuthFailuresPerIp: checkInt(
        owner,
        'maxAuthFailuresPerIp',
        opts.maxAuthFailuresPerIp ?? d.maxAuthFailuresPerIp,
        1,
        1_000_000,
      ),
      authFailureWindowMs: checkInt(
        owner,
        'authFailureWindowMs',
        opts.authFailureWindowMs ?? d.authFailureWindowMs,
        1,
        86_400_000,
      ),
    } as ResolvedCommonOptions & typeof DEFAULT_TUNNEL_SERVER_OPTIONS;
    this.#log = opts.logger ?? defaultLogger('hub:tunnel');
    this.#auth = new ScramAuthority(opts.lookupVerifier, opts.fakeSaltKey, this.#log);
    this.#authorize = opts.authorize;
    if (opts.clientAddress !== undefined && typeof opts.clientAddress !== 'function') {
      throw new TypeError(`${owner}: option clientAddress must be a function (req) => string`);
    }
    this.#clientAddress = opts.clientAddress ?? ((req) => normalizeAddress(req.socket.remoteAddress));
    this.#limiter = new AddressLimiter({
      maxFailures: this.#opts.maxAuthFailuresPerIp,
      windowMs: this.#opts.authFailureWindowMs,
      maxPending: this.#opts.maxPendingHellosPerIp,
    });
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#opts.maxFrameBytes, clientTracking: false });
  }

  /** Routes one HTTP upgrade request (already matched to the tunnel path by the caller). */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (this.#state !== 'running') {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    if (this.#pending >= this.#opts.maxPendingHandshakes) {
      socket.end(
        `HTTP/1.1 503 Service Unavailable\r\nRetry-After: ${this.#opts.busyRetryAfterS}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
      this.#busyAnswers++;
      return;
    }
    const ip = this.#clientAddress(req);
    if (!this.#limiter.acquirePending(ip)) {
      this.#log.warn('too many pending hellos', { remoteAddress: ip });
      socket.end('HTTP/1.1 429 Too Many Requests\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    this.#pending++;
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.#limiter.releasePending(ip);
      this.#pending--;
    };
    socket.once('close', release);
    this.#wss.handleUpgrade(req, socket, head, (ws) =>
      this.#onConnection(ws, ip, release, (gatewayId) => this.emit('authenticated', socket, gatewayId)),
    );
  }

  /** Handshakes in progress, and upgrades turned away with 503 because there were maxPendingHandshakes. */
  handshakeStats(): { pending: number; busyAnswers: number } {
    return { pending: this.#pending, busyAnswers: this.#busyAnswers };
  }

  peer(gatewayId: string): TunnelPeer | undefined {
    return this.#peers.get(gatewayId);
  }

  peers(): TunnelPeer[] {
    return [...this.#peers.values()];
  }

  /** Closes every tunnel (4001) and channel, clears every timer. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    const waits: Promise<void>[] = [];
    for (const w of this.#handshakes) {
      try {
        waits.push(w.close(TUNNEL_CLOSE.SHUTDOWN, 'hub shutting down'));
      } catch (err) {
        this.#log.debug('close failed', { err });
      }
    }
    for (const p of [...this.#peers.values()]) {
      try {
        waits.push(p._end(CHANNEL_CLOSE.GOING_AWAY, 'hub shutting down'));
      } catch (err) {
        this.#log.debug('close failed', { err });
      }
    }
    await Promise.allSettled(waits);
    await new Promise<void>((r) => this.#wss.close(() => r()));
    this.#state = 'closed';
  }

  #onConnection(ws: WebSocket, ip: string, release: () => void, onAuthenticated: (gatewayId: string) => void): void {
    const wire = new Wire(ws, this.#opts, this.#log);
    // Gateways ping every heartbeatMs; the hub pings only a gateway that did not (docs/tunnel.md "Liveness").
    wire.skipPingWhenPeerPings = true;
    if (this.#state !== 'running') {
      void wire.close(TUNNEL_CLOSE.SHUTDOWN, 'hub shutting down');
      return;
    }
    this.#handshakes.add(wire);
    // hello → CHALLENGE → proof → WELCOME (docs/tunnel.md "Handshake"); each gateway frame has its own deadline.
    let phase: 'hello' | 'lookup' | 'proof' | 'verify' = 'hello';
    let pending: PendingAuth | undefined;
    const deadline = (what: string): NodeJS.Timeout =>
      setTimeout(() => {
        void wire.close(TUNNEL_CLOSE.PROTOCOL, `no ${what} within ${this.#opts.helloTimeoutMs} ms`);
      }, this.#opts.helloTimeoutMs);
    let timer = deadline('hello');
    let finished = false;
    const done = (): void => {
      clearTimeout(timer);
      if (finished) return;
      finished = true;
      this.#handshakes.delete(wire);
      wire.off('close', done);
      release();
    };
    wire.on('close', done);
    wire.on('frame', (f: Frame) => {
      clearTimeout(timer);
      if (phase === 'hello') {
        phase = 'lookup';
        void this.#onHello(wire, f, ip).then((p) => {
          if (!p || wire.closed) return done();
          pending = p;
          phase = 'proof';
          timer = deadline('proof');
        });
      } else if (phase === 'proof' && pending) {
        phase = 'verify';
        void this.#onProof(wire, f, pending, ip, onAuthenticated).finally(done);
      } else {
        // The gateway waits for each answer; anything else is out of order.
        void wire.close(TUNNEL_CLOSE.PROTOCOL, `unexpected frame during the handshake (waiting for ${phase})`);
      }
    });
  }

  /** Validates the hello and sends the challenge; resolves undefined when the connection was closed instead. */
  async #onHello(wire: Wire, f: Frame, ip: string): Promise<PendingAuth | undefined> {
    let pending: PendingAuth;
    try {
      if (f.type !== FrameType.HELLO || f.channel !== 0) {
        void wire.close(TUNNEL_CLOSE.PROTOCOL, 'first frame must be hello');
        return undefined;
      }
      const body = decodeJson(f.payload);
      const v = helloVersion(body);
      if (v !== TUNNEL_PROTOCOL_VERSION) {
        void wire.close(
          TUNNEL_CLOSE.VERSION,
          `unsupported tunnel protocol version ${v}; this hub speaks version ${TUNNEL_PROTOCOL_VERSION}`,
        );
        return undefined;
      }
      const hello = parseHello(body);
      // The block is per source address, checked after hello so it can spare a gateway that proved its
      // secret from this address before (a shared or proxy address must not let an
      // attacker lock the real gateway out). Verifying a SCRAM proof costs two HMACs, not a KDF.
      if (this.#limiter.blocked(ip) && !this.#limiter.knownGood(ip, hello.gatewayId)) {
        this.#log.warn('rate limited', { remoteAddress: ip });
        void wire.close(
          TUNNEL_CLOSE.RATE_LIMITED,
          'too many failed authentication attempts from this address; retry later',
        );
        return undefined;
      }
      try {
        pending = await this.#auth.challenge(hello);
      } catch (err) {
        this.#log.error('lookupVerifier hook failed', { gatewayId: hello.gatewayId, err });
        void wire.close(1011, 'internal error during authentication');
        return undefined;
      }
    } catch (err) {
      void wire.close(TUNNEL_CLOSE.PROTOCOL, (err as Error).message);
      return undefined;
    }
    if (wire.closed || this.#state !== 'running') return undefined;
    const c = pending.challenge;
    const body = {
      v: TUNNEL_PROTOCOL_VERSION,
      serverNonce: c.serverNonce,
      salt: c.salt.toString('base64'),
      N: c.N,
      r: c.r,
      p: c.p,
    };
    wire.send(encodeFrame({ type: FrameType.CHALLENGE, channel: 0, seq: 0, ack: 0, payload: encodeJson(body) }));
    return pending;
  }

  async #onProof(
    wire: Wire,
    f: Frame,
    pending: PendingAuth,
    ip: string,
    onAuthenticated: (gatewayId: string) => void,
  ): Promise<void> {
    const gatewayId = pending.hello.gatewayId;
    let proof: Proof;
    try {
      if (f.type !== FrameType.PROOF || f.channel !== 0) {
        void wire.close(TUNNEL_CLOSE.PROTOCOL, 'expected proof after challenge');
        return;
      }
      proof = parseProof(decodeJson(f.payload));
    } catch (err) {
      void wire.close(TUNNEL_CLOSE.PROTOCOL, (err as Error).message);
      return;
    }
    const result = this.#auth.verify(pending, proof);
    let decision: AuthDecision = result.ok
      ? { ok: true }
      : { ok: false, reason: pending.known ? 'wrong proof' : 'unknown gateway id' };
    if (result.ok && this.#authorize) {
      try {
        decision = await this.#authorize({
          gatewayId,
          version: pending.hello.v,
          announce: proof.announce,
          remoteAddress: ip,
        });
      } catch (err) {
        this.#log.error('authorize hook failed', { gatewayId, err });
        void wire.close(1011, 'internal error during authentication');
        return;
      }
    }
    if (wire.closed || this.#state !== 'running') return;
    if (!result.ok || !decision || decision.ok !== true) {
      this.#limiter.recordFailure(ip);
      this.#log.warn('authentication failed', {
        gatewayId,
        remoteAddress: ip,
        why: decision && 'reason' in decision ? decision.reason : 'no decision',
      });
      // One reason text for unknown id, wrong proof and a refusing hook: no oracle for valid ids.
      void wire.close(TUNNEL_CLOSE.AUTH, 'authentication failed');
      return;
    }
    wire.removeAllListeners('frame');
    this.#limiter.recordSuccess(ip, gatewayId);
    onAuthenticated(gatewayId);
    let peer = this.#peers.get(gatewayId);
    if (!peer) {
      peer = new TunnelPeer(gatewayId, this.#opts, this.#log.child(gatewayId), (p) => {
        if (this.#peers.get(p.gatewayId) === p) this.#peers.delete(p.gatewayId);
      });
      this.#peers.set(gatewayId, peer);
      this.emit('peer', peer);
    }
    peer._attach(wire, proof, ip, result.serverSignature);
  }
}
