import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CamgateError, type Logger } from '../util/index.js';
import type { Channel } from './channel.js';
import { CHANNEL_CLOSE, FrameType, TUNNEL_CLOSE, TUNNEL_PROTOCOL_VERSION } from './constants.js';
import { encodeFrame, encodeJson } from './frame.js';
import type { Proof, Welcome } from './handshake.js';
import { Link } from './link.js';
import type { ResolvedCommonOptions } from './options.js';
import type { Wire } from './wire.js';

/**
 * The hub's view of one gateway. It outlives single connections: when the
 * tunnel drops, channels stay `detached` for resumeGraceMs and the next
 * connection of the same gateway id resumes them (docs/tunnel.md "Resume").
 */
export class TunnelPeer extends EventEmitter<{
  online: [];
  offline: [reason: string];
  gone: [];
  announce: [unknown];
  control: [unknown];
}> {
  readonly gatewayId: string;
  /**
   * STUN/TURN URIs (no credentials) sent in every welcome, so the gateway knows which relays this hub will
   * name (handshake.ts `Welcome.mediaRelays`). Set by the owner when the server emits `peer`, before the
   * first welcome.
   */
  mediaRelays: readonly string[] = [];
  #online = false;
  #since = new Date();
  #remoteAddress: string | undefined;
  #announce: unknown = null;
  #gone = false;
  #wire: Wire | undefined;
  #link: Link;
  #graceTimer: NodeJS.Timeout | undefined;
  readonly #graceMs: number;
  readonly #log: Logger;
  readonly #onGone: (p: TunnelPeer) => void;

  /** @internal Created by TunnelServer. */
  constructor(
    gatewayId: string,
    opts: ResolvedCommonOptions & { resumeGraceMs: number },
    log: Logger,
    onGone: (p: TunnelPeer) => void,
  ) {
    super();
    this.gatewayId = gatewayId;
    this.#graceMs = opts.resumeGraceMs;
    this.#log = log;
    this.#onGone = onGone;
    this.#link = new Link('hub', opts, log, {
      onControl: (msg) => this.emit('control', msg),
      onAnnounce: (msg) => {
        this.#announce = msg;
        this.emit('announce', msg);
      },
    });
  }

  get online(): boolean {
    return this.#online;
  }
  /** When `online` last changed. */
  get since(): Date {
    return this.#since;
  }
  /** The address the current (or last) tunnel came from — the home's public address. */
  get remoteAddress(): string | undefined {
    return this.#remoteAddress;
  }
  /** The gateway's announce (camera ids and names), as last received. */
  get announce(): unknown {
    return this.#announce;
  }
  /** Open channels (diagnostics). */
  get channelCount(): number {
    return this.#link.channelCount;
  }

  /**
   * Opens a channel to the gateway. Throws CAMGATE_TUNNEL_OFFLINE when the
   * gateway is not connected right now and CAMGATE_TUNNEL_CHANNEL_LIMIT when
   * maxChannels are open.
   */
  openChannel(meta: Record<string, unknown> = {}): Channel {
    if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
      throw new TypeError('TunnelPeer.openChannel: meta must be a plain object');
    }
    if (!this.#online) throw new CamgateError('CAMGATE_TUNNEL_OFFLINE', `gateway ${this.gatewayId} is offline`);
    return this.#link.openChannel(meta);
  }

  /** Sends a control message to the gateway; queued while detached. Throws CAMGATE_TUNNEL_OFFLINE once gone. */
  sendControl(msg: unknown): void {
    if (this.#gone) throw new CamgateError('CAMGATE_TUNNEL_OFFLINE', `gateway ${this.gatewayId} is gone`);
    this.#link.sendControl(FrameType.CONTROL, msg);
  }

  /**
   * Closes the current connection with `code`/`reason` (e.g. 4401 when the
   * gateway was revoked — the gateway then stops retrying). Channels stay
   * detached for the resume grace, as after any drop.
   */
  disconnect(code: number, reason: string): void {
    if (!Number.isInteger(code) || code < 4000 || code > 4999) {
      throw new RangeError(`TunnelPeer.disconnect: code must be an integer 4000..4999, got ${code}`);
    }
    void this.#wire?.close(code, reason);
  }

  /** Counters for diagnostics and tests. */
  stats(): ReturnType<Link['stats']> {
    return this.#link.stats();
  }

  /** @internal A connection authenticated as this gateway: newer wins. */
  _attach(wire: Wire, proof: Proof, remoteAddress: string, serverSignature: string): void {
    const old = this.#wire;
    if (old) {
      old.removeAllListeners('frame');
      old.removeAllListeners('close');
      this.#link.detach();
      void old.close(TUNNEL_CLOSE.REPLACED, 'replaced by a newer connection of the same gateway');
      this.#log.info('connection replaced', { gatewayId: this.gatewayId });
    }
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;

    const r = proof.resume;
    const resumed = r !== undefined && r.session === this.#link.session && this.#link.canResume(r.recv);
    if (!resumed) {
      if (this.#link.session)
        this.#link.reset(CHANNEL_CLOSE.SESSION_LOST, 'tunnel session lost: the gateway started a new session');
      this.#link.session = randomBytes(12).toString('base64url');
    }
    const welcome: Welcome = {
      v: TUNNEL_PROTOCOL_VERSION,
      session: this.#link.session,
      resumed,
      recv: this.#link.recvSeq,
      maxFrameBytes: 0,
      maxChannels: 0,
      serverSignature,
      mediaRelays: [...this.mediaRelays],
    };
    wire.send(encodeFrame({ type: FrameType.WELCOME, channel: 0, seq: 0, ack: 0, payload: encodeJson(welcome) }));
    this.#wire = wire;
    this.#remoteAddress = remoteAddress;
    wire.on('frame', (f) => this.#link.handleFrame(f));
    wire.on('close', (code, reason) => this.#onWireClose(wire, code, reason));
    this.#link.attach(wire, r && resumed ? r.recv : 0);
    wire.onTick = () => this.#link.heartbeat();
    this.#announce = proof.announce;
    this.#online = true;
    this.#since = new Date();
    this.#log.info('gateway online', { gatewayId: this.gatewayId, resumed, remoteAddress });
    this.emit('online');
    this.emit('announce', proof.announce);
  }

  #onWireClose(wire: Wire, code: number, reason: string): void {
    if (wire !== this.#wire) return;
    this.#wire = undefined;
    this.#link.detach();
    if (code === TUNNEL_CLOSE.SHUTDOWN) {
      // The gateway left on purpose: its channels will not come back.
      this.#link.reset(CHANNEL_CLOSE.GOING_AWAY, 'gateway shut down');
    }
    this.#online = false;
    this.#since = new Date();
    const why = `tunnel closed (${code}${reason ? `: ${reason}` : ''})`;
    this.#log.info('gateway offline', { gatewayId: this.gatewayId, code, reason });
    this.emit('offline', why);
    if (this.#gone) return;
    this.#graceTimer = setTimeout(() => {
      this.#graceTimer = undefined;
      this._end(
        CHANNEL_CLOSE.SESSION_LOST,
        `tunnel session lost: the gateway did not return within ${this.#graceMs} ms`,
      );
    }, this.#graceMs);
  }

  /** @internal Ends the peer for good (grace expired or server closing). */
  async _end(code: number, reason: string, wsCode: number = TUNNEL_CLOSE.SHUTDOWN): Promise<void> {
    if (this.#gone) return;
    this.#gone = true;
    if (this.#graceTimer) clearTimeout(this.#graceTimer);
    this.#graceTimer = undefined;
    this.#link.dispose(code, reason);
    const wire = this.#wire;
    if (wire) await wire.close(wsCode, reason);
    this.#onGone(this);
    this.emit('gone');
  }
}
