import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Channel } from '../tunnel/index.js';
import {
  errorResponse,
  isRequest,
  isResponse,
  JSONRPC_PARSE_ERROR,
  parseMessage,
  serializeMessage,
  type JsonRpcMessage,
  type JsonRpcNotification,
  type JsonRpcRequest,
  type KurentoPolicy,
  type PolicySession,
  talkGrantFromMeta,
} from '../kurento/index.js';
import { CamgateError, type Logger } from '../util/index.js';
import type { SessionKeeper } from './session-keeper.js';

export interface KurentoRelayOptions {
  backendUrl: string;
  policy: KurentoPolicy;
  keeper: SessionKeeper;
  logger: Logger;
  /** Largest JSON-RPC message accepted in either direction. */
  maxMessageBytes: number;
  /** Messages from the hub held while the backend connection opens. */
  maxQueuedMessages: number;
  /** Requests forwarded and not yet answered, per channel. */
  maxPendingRequests: number;
  /** Log every message both ways at debug (`--verbose`): the hub's own text and the scrubbed answers. */
  logFrames?: boolean;
}

/**
 * The hub's talk grant for this channel (docs/kurento-policy.md "Talking back"): a malformed one is no grant,
 * and the log says so; the channel itself still serves viewing.
 */
function talkCamerasOf(channel: Channel, log: Logger): string[] {
  try {
    return talkGrantFromMeta(channel.meta);
  } catch (err) {
    log.warn('talk grant in the channel meta ignored', { reason: (err as Error).message });
    return [];
  }
}

/** A logged frame is cut here: an SDP is a few KiB, a debug line need not be more. */
const MAX_LOGGED_FRAME_CHARS = 4096;

/** What a relay reports to the gateway (and on to Node-RED's `camgate-events`). */
export interface RelayEvents {
  refused: [{ channel: number; method: string; rule: string; sessionId: string | undefined }];
  /** A camera was asked for (a PlayerEndpoint of `camera://ID` was created). */
  viewing: [{ channel: number; cameraId: string; sessionId: string | undefined }];
  close: [];
}

/** WebSocket close code for a message over the size limit (RFC 6455 §7.4.1). */
const WS_TOO_BIG = 1009;

/**
 * Relays one Kurento connection: a tunnel channel on the hub side, a
 * WebSocket to the media backend on the LAN side. Every message from the hub
 * passes the policy first; a refused one is answered here and never reaches
 * the backend. Every answer and event from the backend is scrubbed of camera
 * URLs and credentials before it enters the tunnel.
 */
export class KurentoRelay extends EventEmitter<RelayEvents> {
  readonly #channel: Channel;
  readonly #opts: KurentoRelayOptions;
  readonly #log: Logger;
  readonly #session: PolicySession;
  readonly #backend: WebSocket;
  readonly #queue: string[] = [];
  readonly #pending = new Map<string | number, JsonRpcRequest>();
  #attachedTo: string | undefined;
  #closed = false;

  constructor(channel: Channel, opts: KurentoRelayOptions) {
    super();
    this.#channel = channel;
    this.#opts = opts;
    this.#log = opts.logger.child(`ch${channel.id}`);
    this.#session = opts.policy.createSession({ talkCameras: talkCamerasOf(channel, this.#log) });
    this.#backend = new WebSocket(opts.backendUrl, { maxPayload: opts.maxMessageBytes });
    this.#backend.on('open', () => this.#flush());
    this.#backend.on('message', (data, isBinary) => this.#fromBackend(data, isBinary));
    this.#backend.on('error', (err) => this.#log.warn('media backend connection failed', { err }));
    this.#backend.once('unexpected-response', (_req, res) => {
      // The built-in engine answers 401 without (or with a wrong) token: say where the token comes from.
      const status = res.statusCode ?? 0;
      this.#log.error('media backend refused the connection', {
        status,
        ...(status === 401 ? { hint: 'the engine token is missing or wrong: see mediaBackend.tokenFile' } : {}),
      });
      res.resume();
      this.#backend.terminate();
    });
    this.#backend.on('close', (code) => this.#end(`media backend closed the connection (${code})`));
    channel.on('message', (text) => this.#fromHub(text));
    channel.on('close', () => this.#end('hub closed the channel'));
  }

  #fromHub(text: string): void {
    if (this.#closed) return;
    // Logged as the hub sent it (camera://ID, before the policy put the real URL in): nothing to redact.
    if (this.#opts.logFrames) this.#log.debug('hub → backend', { frame: text.slice(0, MAX_LOGGED_FRAME_CHARS) });
    if (Buffer.byteLength(text) > this.#opts.maxMessageBytes) {
      this.#log.warn('message from hub over the size limit; closing the channel', { bytes: Buffer.byteLength(text) });
      this.#channel.close(WS_TOO_BIG, 'message too large');
      return;
    }
    let msg: JsonRpcMessage;
    try {
      msg = parseMessage(text, this.#opts.maxMessageBytes);
    } catch (err) {
      // JSON-RPC 2.0 §5.1: a message we cannot parse gets a parse error with id null.
      const code = err instanceof CamgateError ? err.code : 'CAMGATE_JSONRPC_PARSE';
      this.#channel.send(serializeMessage(errorResponse(null, JSONRPC_PARSE_ERROR, 'Parse error', { code })));
      return;
    }
    if (isResponse(msg)) {
      // Kurento servers never ask clients anything; an answer from the hub has no request to match.
      this.#log.debug('dropping a response from the hub', {});
      return;
    }
    const verdict = this.#session.check(msg);
    if (verdict.action === 'deny') {
      this.#channel.send(serializeMessage(verdict.response));
      this.emit('refused', {
        channel: this.#channel.id,
        method: msg.method,
        rule: verdict.rule,
        sessionId: this.#session.sessionId,
      });
      return;
    }
    const forwarded = verdict.message;
    if (this.#pending.size >= this.#opts.maxPendingRequests) {
      this.#channel.send(
        serializeMessage(
          errorResponse(forwarded.id, -32000, 'camgate: too many requests in flight on this connection'),
        ),
      );
      return;
    }
    this.#pending.set(forwarded.id, forwarded);
    this.#noteViewing(msg);
    const out = JSON.stringify(forwarded);
    if (this.#backend.readyState === WebSocket.OPEN) this.#backend.send(out);
    else if (this.#queue.length < this.#opts.maxQueuedMessages) this.#queue.push(out);
    else {
      this.#pending.delete(forwarded.id);
      this.#channel.send(serializeMessage(errorResponse(forwarded.id, -32000, 'camgate: media backend not reachable')));
    }
  }

  #fromBackend(data: WebSocket.RawData, isBinary: boolean): void {
    if (this.#closed || isBinary) return;
    let msg: JsonRpcMessage;
    try {
      msg = parseMessage(data.toString(), this.#opts.maxMessageBytes);
    } catch (err) {
      this.#log.warn('unparseable message from the media backend dropped', { err });
      return;
    }
    if (isResponse(msg)) {
      const req = msg.id === null ? undefined : this.#pending.get(msg.id);
      if (req) {
        this.#pending.delete(req.id);
        this.#session.observeResponse(req, msg);
        this.#adoptSession();
      }
      this.#toHub(serializeMessage(this.#session.sanitizeResponse(msg)));
    } else if (!isRequest(msg)) {
      this.#toHub(serializeMessage(this.#session.sanitizeNotification(msg)));
    } else {
      this.#log.debug('dropping a request from the media backend', { method: msg.method });
    }
  }

  /** Sends an already scrubbed message to the hub (and logs it as sent, with `logFrames`). */
  #toHub(text: string): void {
    if (this.#opts.logFrames) this.#log.debug('backend → hub', { frame: text.slice(0, MAX_LOGGED_FRAME_CHARS) });
    this.#channel.send(text);
  }

  /** Once the backend has named the session (first create, or a resume), the keeper tracks it. */
  #adoptSession(): void {
    const sid = this.#session.sessionId;
    if (!sid || sid === this.#attachedTo) return;
    if (this.#attachedTo) this.#opts.keeper.detach(this.#attachedTo, this, undefined);
    this.#attachedTo = sid;
    const session = this.#session;
    this.#opts.keeper.attach({ sessionId: sid, ownedObjects: () => session.ownedObjects() }, this);
  }

  /** Reports which camera a viewer asked for, from the hub's own `camera://ID` (before the policy rewrote it). */
  #noteViewing(req: JsonRpcRequest | JsonRpcNotification): void {
    const p = req.params as { type?: unknown; constructorParams?: { uri?: unknown } } | undefined;
    if (req.method !== 'create' || typeof p?.type !== 'string' || !p.type.endsWith('PlayerEndpoint')) return;
    const uri = p.constructorParams?.uri;
    const match = typeof uri === 'string' ? /^camera:\/\/([^/?#]+)$/.exec(uri) : null;
    if (match?.[1])
      this.emit('viewing', { channel: this.#channel.id, cameraId: match[1], sessionId: this.#session.sessionId });
  }

  #flush(): void {
    for (const m of this.#queue.splice(0)) this.#backend.send(m);
  }

  #end(reason: string): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#log.debug('relay closed', { reason });
    // From now on a new connection may resume this Kurento session (a reconnect after a cut), not before.
    this.#session.close();
    if (this.#channel.state !== 'closed') this.#channel.close(1000, reason);
    if (this.#attachedTo) {
      // Keep the backend connection open during the grace period: the session may resume.
      this.#opts.keeper.detach(this.#attachedTo, this, this.#backend);
    } else {
      this.#backend.close();
    }
    this.emit('close');
  }
}
