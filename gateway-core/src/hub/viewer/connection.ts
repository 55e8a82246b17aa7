/**
 * One signed-in browser on `/viewer/ws`: validates every frame, enforces the
 * user's camera grants on each `start`, runs a ViewerStream per open player,
 * and releases all of them when the page goes away.
 */
import type { WebSocket } from 'ws';
import type { Flag } from '../../alerts/index.js';
import type { JsonObject } from '../../kurento/index.js';
import type { Logger } from '../../util/index.js';
import type { GatewayStatus } from '../api.js';
import { isGranted, mayTalk, type Session, type UserRecord } from '../accounts/index.js';
import { camerasFor, type ExposureState } from './cameras.js';
import { viewerFlagsFor } from './flags.js';
import { parseBrowserMessage, ViewerProtocolError, type BrowserMessage, type MessageLimits } from './messages.js';
import { PLAIN, type PlainError } from './plain-words.js';
import { ViewerStream, type EngineIceConfig } from './stream.js';

/** ICE servers as `RTCPeerConnection` takes them (W3C WebRTC §4.2.1 RTCIceServer). */
export interface BrowserIceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
}

/** What `iceServersFor(user)` returns: servers for the browser, and STUN/TURN for the media backend. */
export interface ViewerIceConfig {
  browser: BrowserIceServer[];
  engine?: EngineIceConfig;
}

export interface ViewerConnectionDeps {
  gatewayStatus: () => GatewayStatus[];
  kurentoUrl: (gatewayId: string) => string;
  /** The Kurento endpoint with a single-use talk grant for one camera; without it nobody can talk. */
  talkUrl?: ((gatewayId: string, cameraId: string) => string) | undefined;
  exposureFor: ((gatewayId: string, cameraId: string) => ExposureState | undefined) | undefined;
  flagsFor: ((gatewayId: string) => readonly Flag[]) | undefined;
  acceptCandidate: (candidate: string) => boolean;
  limits: MessageLimits & { maxStreams: number; maxMessagesPerSecond: number; requestTimeoutMs: number };
  logger: Logger;
}

export class ViewerConnection {
  readonly #ws: WebSocket;
  readonly #user: UserRecord;
  readonly #ice: ViewerIceConfig;
  readonly #deps: ViewerConnectionDeps;
  readonly #streams = new Map<string, ViewerStream>();
  readonly session: Session;
  #windowStart = 0;
  #windowCount = 0;
  #closed = false;
  /** What this page was last sent, per kind: a push that changes nothing is not sent again. */
  readonly #lastSent = new Map<'cameras' | 'flags', string>();

  constructor(ws: WebSocket, session: Session, user: UserRecord, ice: ViewerIceConfig, deps: ViewerConnectionDeps) {
    this.#ws = ws;
    this.session = session;
    this.#user = user;
    this.#ice = ice;
    this.#deps = deps;
    ws.on('message', (data, isBinary) => this.#onFrame(data as Buffer, isBinary));
    ws.on('close', () => void this.close());
    ws.on('error', (err) => deps.logger.debug('viewer socket error', { err }));
    this.#send({ type: 'hello', user: user.name, iceServers: ice.browser as unknown as JsonObject[] });
    this.sendCameras(undefined, true);
    this.sendFlags(undefined, true);
  }

  /** Players open on this connection. */
  get streams(): number {
    return this.#streams.size;
  }

  /**
   * Sends the camera list (on connect, on request, and when a gateway comes or goes); `status` may be shared.
   * A push that would repeat the list this page already has is dropped unless `always` (connect, request):
   * after a hub restart a page granted two homes hears of those two, not of every home coming back.
   */
  sendCameras(status: readonly GatewayStatus[] = this.#deps.gatewayStatus(), always = false): void {
    const cameras = camerasFor(this.#user.cameras, status, this.#deps.exposureFor);
    if (this.#deps.talkUrl) for (const c of cameras) if (mayTalk(this.#user, c.gateway, c.camera)) c.talk = true;
    this.#sendChanged({ type: 'cameras', cameras: cameras as unknown as JsonObject[] }, always);
  }

  /** Sends the raised flags this person may see (on connect, on request, and when flags change); like the list. */
  sendFlags(status?: readonly GatewayStatus[], always = false): void {
    const flagsFor = this.#deps.flagsFor;
    const flags = flagsFor ? viewerFlagsFor(this.#user.cameras, status ?? this.#deps.gatewayStatus(), flagsFor) : [];
    this.#sendChanged({ type: 'flags', flags: flags as unknown as JsonObject[] }, always);
  }

  #sendChanged(msg: JsonObject & { type: 'cameras' | 'flags' }, always: boolean): void {
    const text = JSON.stringify(msg);
    if (!always && this.#lastSent.get(msg.type) === text) return;
    this.#lastSent.set(msg.type, text);
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(text);
  }

  #send(msg: JsonObject): void {
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.send(JSON.stringify(msg));
  }

  #error(e: PlainError, id?: string): void {
    const msg: JsonObject = { type: 'error', code: e.code, message: e.message };
    if (id !== undefined) msg.id = id;
    this.#send(msg);
  }

  #onFrame(data: Buffer, isBinary: boolean): void {
    if (this.#closed) return;
    const now = Date.now();
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#windowCount = 0;
    }
    if (++this.#windowCount > this.#deps.limits.maxMessagesPerSecond) {
      // RFC 6455 §7.4.1: 1008 policy violation.
      this.#ws.close(1008, 'too many messages');
      return;
    }
    let msg: BrowserMessage;
    try {
      if (isBinary) throw new ViewerProtocolError('The page sent a message the hub could not read.');
      msg = parseBrowserMessage(data, this.#deps.limits);
    } catch (caught) {
      const err = caught instanceof ViewerProtocolError ? caught : new ViewerProtocolError(PLAIN.internal.message);
      this.#deps.logger.info('bad message from a viewer', { user: this.#user.name, reason: err.message });
      const plain = /offer/.test(err.message) ? { code: PLAIN.badOffer.code, message: err.message } : err;
      this.#error({ code: plain.code, message: plain.message }, err.streamId);
      if (err.streamId) this.#streams.get(err.streamId)?.stop();
      return;
    }
    this.#dispatch(msg);
  }

  #dispatch(msg: BrowserMessage): void {
    switch (msg.type) {
      case 'list':
        this.sendCameras(undefined, true);
        return this.sendFlags(undefined, true);
      case 'stop':
        void this.#streams.get(msg.id)?.stop();
        return;
      case 'candidate':
        this.#streams.get(msg.id)?.addCandidate(msg.candidate);
        return;
      case 'start':
        return this.#start(msg);
      case 'talk':
        return this.#start(msg);
    }
  }

  #start(msg: Extract<BrowserMessage, { type: 'start' | 'talk' }>): void {
    const { id, gateway, camera } = msg;
    // Grants are checked here, server-side, on every start: the page's list is only a convenience.
    if (!isGranted(this.#user.cameras, gateway, camera)) {
      this.#deps.logger.warn('viewer refused a camera not granted', { user: this.#user.name, gateway, camera });
      return this.#error(PLAIN.notGranted, id);
    }
    const talk = msg.type === 'talk';
    // The talk setting is checked here too; the gateway's policy refuses talking without the hub's ticket.
    if (talk && (!this.#deps.talkUrl || !mayTalk(this.#user, gateway, camera))) {
      this.#deps.logger.warn('viewer refused talking', { user: this.#user.name, gateway, camera });
      return this.#error(PLAIN.talkNotAllowed, id);
    }
    if (this.#streams.has(id)) return this.#error(PLAIN.busy, id);
    if (this.#streams.size >= this.#deps.limits.maxStreams) return this.#error(PLAIN.tooMany, id);
    const status = this.#deps.gatewayStatus().find((g) => g.id === gateway);
    if (!status?.online) return this.#error(PLAIN.gatewayOffline, id);
    if (!status.cameras.some((c) => c.id === camera)) return this.#error(PLAIN.unknownCamera, id);
    const stream = new ViewerStream({
      id,
      kurentoUrl: talk ? this.#deps.talkUrl!(gateway, camera) : this.#deps.kurentoUrl(gateway),
      cameraId: camera,
      talk,
      engineIce: this.#ice.engine,
      send: (m) => this.#send(m),
      acceptCandidate: this.#deps.acceptCandidate,
      requestTimeoutMs: this.#deps.limits.requestTimeoutMs,
      onEnd: () => {
        if (this.#streams.get(id) === stream) this.#streams.delete(id);
      },
      logger: this.#deps.logger.child(`${gateway}/${camera}`),
    });
    this.#streams.set(id, stream);
    void stream.start(msg.offer);
  }

  /**
   * Closes the socket (with `code`/`reason` when given) and releases every player — or, with `release` false
   * (hub shutdown), leaves their pipelines to the gateway's grace period so the pictures play on. Idempotent.
   */
  async close(code?: number, reason?: string, release = true): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      if (code !== undefined && this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
      else if (this.#ws.readyState !== this.#ws.CLOSED) this.#ws.terminate();
    }
    await Promise.all([...this.#streams.values()].map((s) => (release ? s.stop() : s.abandon())));
  }
}
