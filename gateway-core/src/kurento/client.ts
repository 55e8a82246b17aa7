/**
 * A small typed Kurento Protocol client over `ws`, for the hub to build
 * pipeline → PlayerEndpoint(camera://ID) → WebRtcEndpoint for a viewer.
 * Bounded everywhere: message size, pending requests, per-request timeout;
 * a malformed frame from the server is logged and dropped, never thrown.
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from '../util/index.js';
import { CamgateError, defaultLogger, isLoopbackHost } from '../util/index.js';
import type { JsonObject, JsonRpcMessage, JsonRpcResponse, JsonValue } from './jsonrpc.js';
import { JSONRPC_METHOD_NOT_FOUND, errorResponse, parseMessage } from './jsonrpc.js';
import { KURENTO_EVENT_METHOD } from './types.js';

export interface KurentoClientOptions {
  /** Where to log; `defaultLogger('kurento:client')` when omitted. */
  logger?: Logger;
  /** How long to wait for each response before rejecting with CAMGATE_KURENTO_TIMEOUT. */
  requestTimeoutMs?: number;
  /** How often to ping the server (0 = never). The first ping also tells the server to expect this interval. */
  pingIntervalMs?: number;
  /**
   * How long a ping may wait for its answer before the connection is taken for dead. Longer than a request's:
   * a ping crosses the hub's tunnel, which survives an outage of up to its resume grace (60 s) by replaying
   * what was queued, and a healthy session must not end because a ping waited out such an outage.
   */
  pingTimeoutMs?: number;
  /** How long the WebSocket may take to open. */
  connectTimeoutMs?: number;
  /** Largest message accepted from the server (bytes); larger frames close the connection. */
  maxMessageBytes?: number;
  /** Most requests awaiting a response at once; more are rejected with CAMGATE_KURENTO_BUSY. */
  maxPendingRequests?: number;
  /** Allow plain ws:// to a host that is not loopback (TLS is the default everywhere else). */
  allowInsecure?: boolean;
}

export const DEFAULT_KURENTO_CLIENT_OPTIONS = {
  requestTimeoutMs: 20_000, // 20 s, the official client's BASE_TIMEOUT
  pingIntervalMs: 60_000, // 60 s, the official client's HEARTBEAT
  pingTimeoutMs: 60_000, // 60 s: the tunnel's resume grace (the official client retries a failed ping by reconnecting)
  connectTimeoutMs: 10_000, // 10 s
  maxMessageBytes: 1024 * 1024, // 1 MiB: an SDP answer with many candidates is ~10 KiB
  maxPendingRequests: 256,
  allowInsecure: false,
} as const;

/** One `onEvent` notification. */
export interface KurentoEvent {
  object: string;
  type: string;
  data: JsonObject;
}

export interface KurentoClientEvents {
  /** Every `onEvent` notification, whether or not a handler subscribed to it. */
  event: [KurentoEvent];
  /** Once, when the connection is gone; `error` when it did not end by `close()`. */
  close: [error: CamgateError | undefined];
}

/** A JSON-RPC error from the server; `data` holds its code, message and data. */
export class KurentoRpcError extends CamgateError {
  readonly data: { code: number; message: string; data?: JsonValue };
  constructor(method: string, error: { code: number; message: string; data?: JsonValue }) {
    super('CAMGATE_KURENTO_RPC', `${method} failed: ${error.code} ${error.message}`);
    this.name = 'KurentoRpcError';
    this.data = error;
  }
}

interface Pending {
  method: string;
  resolve: (value: JsonObject) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

type EventHandler = (event: KurentoEvent) => void;

function checkNumber(name: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(`KurentoClient option ${name}: ${String(v)} is not allowed (an integer)`);
  }
  if (v < min) throw new RangeError(`KurentoClient option ${name}: ${v} is not allowed (>= ${min})`);
  return v;
}

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export class KurentoClient extends EventEmitter<KurentoClientEvents> {
  readonly #ws: WebSocket;
  readonly #opts: Required<Omit<KurentoClientOptions, 'logger'>>;
  readonly #logger: Logger;
  readonly #pending = new Map<number, Pending>();
  readonly #handlers = new Map<string, Set<EventHandler>>();
  #nextId = 1;
  #sessionId: string | undefined;
  #pingTimer: NodeJS.Timeout | undefined;
  #state: 'OPEN' | 'CLOSING' | 'CLOSED' = 'OPEN';

  /** Opens a connection to a Kurento server (`ws://` on loopback, else `wss://`). */
  static async connect(url: string, options: KurentoClientOptions = {}): Promise<KurentoClient> {
    const opts = { ...DEFAULT_KURENTO_CLIENT_OPTIONS, ...options };
    checkNumber('requestTimeoutMs', opts.requestTimeoutMs, 1);
    checkNumber('pingIntervalMs', opts.pingIntervalMs, 0);
    checkNumber('pingTimeoutMs', opts.pingTimeoutMs, 1);
    checkNumber('connectTimeoutMs', opts.connectTimeoutMs, 1);
    checkNumber('maxMessageBytes', opts.maxMessageBytes, 1024);
    checkNumber('maxPendingRequests', opts.maxPendingRequests, 1);
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new TypeError('KurentoClient url: not a valid URL (ws:// or wss://)');
    }
    if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
      throw new TypeError(`KurentoClient url: scheme ${parsed.protocol} is not allowed (ws: or wss:)`);
    }
    if (parsed.protocol === 'ws:' && !opts.allowInsecure && !isLoopbackHost(parsed.hostname)) {
      throw new TypeError('KurentoClient url: ws:// is only allowed to loopback unless allowInsecure is set');
    }
    const logger = options.logger ?? defaultLogger('kurento:client');
    const ws = new WebSocket(url, { maxPayload: opts.maxMessageBytes, handshakeTimeout: opts.connectTimeoutMs });
    await new Promise<void>((resolve, reject) => {
      const onOpen = (): void => {
        ws.off('error', onError);
        resolve();
      };
      const onError = (err: Error): void => {
        ws.off('open', onOpen);
        ws.terminate();
        reject(new CamgateError('CAMGATE_KURENTO_CLOSED', `could not connect to the Kurento server: ${err.message}`));
      };
      ws.once('open', onOpen);
      ws.once('error', onError);
    });
    const { logger: _l, ...rest } = { ...opts, logger };
    return new KurentoClient(ws, rest, logger);
  }

  private constructor(ws: WebSocket, opts: Required<Omit<KurentoClientOptions, 'logger'>>, logger: Logger) {
    super();
    this.#ws = ws;
    this.#opts = opts;
    this.#logger = logger;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('error', (err) => this.#logger.warn('websocket error', { err }));
    ws.on('close', (code) => {
      const err =
        this.#state === 'OPEN' ? new CamgateError('CAMGATE_KURENTO_CLOSED', `connection closed (${code})`) : undefined;
      this.#teardown(err);
    });
    if (opts.pingIntervalMs > 0) {
      // Kurento Protocol: the first ping's `interval` tells the server how long to keep the session alive.
      this.#ping({ interval: opts.pingIntervalMs * 2 });
      this.#pingTimer = setInterval(() => this.#ping(), opts.pingIntervalMs);
    }
  }

  /** The session id the server assigned, once a response carried it. */
  get sessionId(): string | undefined {
    return this.#sessionId;
  }

  /** Creates a media object; resolves with its id. */
  async create(type: string, constructorParams: JsonObject = {}): Promise<string> {
    const result = await this.request('create', { type, constructorParams });
    if (typeof result.value !== 'string') throw new CamgateError('CAMGATE_KURENTO_PROTOCOL', 'create: no object id');
    return result.value;
  }

  /** Invokes `operation` on `objectId`; resolves with the result's `value` (undefined when none). */
  async invoke(objectId: string, operation: string, operationParams?: JsonObject): Promise<JsonValue | undefined> {
    const params: JsonObject = { object: objectId, operation };
    if (operationParams !== undefined) params.operationParams = operationParams;
    return (await this.request('invoke', params)).value;
  }

  /** Subscribes `handler` to `eventType` of `objectId`; resolves with a function that unsubscribes. */
  async subscribe(objectId: string, eventType: string, handler: EventHandler): Promise<() => Promise<void>> {
    const result = await this.request('subscribe', { object: objectId, type: eventType });
    const token = result.value;
    if (typeof token !== 'string') throw new CamgateError('CAMGATE_KURENTO_PROTOCOL', 'subscribe: no subscription');
    const key = `${objectId}\u0000${eventType}`;
    let set = this.#handlers.get(key);
    if (!set) this.#handlers.set(key, (set = new Set()));
    set.add(handler);
    let done = false;
    return async () => {
      if (done) return;
      done = true;
      set.delete(handler);
      if (set.size === 0) this.#handlers.delete(key);
      if (this.#state === 'OPEN') await this.request('unsubscribe', { object: objectId, subscription: token });
    };
  }

  /** Releases a media object (a pipeline takes its elements with it). */
  async release(objectId: string): Promise<void> {
    await this.request('release', { object: objectId });
  }

  /**
   * Sends any Kurento request; resolves with the result object. Adds `sessionId` once known, except to
   * `ping`, which the official JavaScript client (kurento-jsonrpc) sends with `interval` only.
   */
  request(method: string, params: JsonObject = {}): Promise<JsonObject> {
    return this.#request(method, params, this.#opts.requestTimeoutMs);
  }

  #request(method: string, params: JsonObject, timeoutMs: number): Promise<JsonObject> {
    if (this.#state !== 'OPEN') return Promise.reject(new CamgateError('CAMGATE_KURENTO_CLOSED', 'client is closed'));
    if (this.#pending.size >= this.#opts.maxPendingRequests) {
      return Promise.reject(
        new CamgateError('CAMGATE_KURENTO_BUSY', `more than ${this.#opts.maxPendingRequests} requests pending`),
      );
    }
    const id = this.#nextId++;
    const full: JsonObject =
      this.#sessionId === undefined || method === 'ping' ? params : { ...params, sessionId: this.#sessionId };
    return new Promise<JsonObject>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(new CamgateError('CAMGATE_KURENTO_TIMEOUT', `${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.#pending.set(id, { method, resolve, reject, timer });
      this.#ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params: full }), (err) => {
        if (!err) return;
        const p = this.#pending.get(id);
        if (!p) return;
        this.#pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new CamgateError('CAMGATE_KURENTO_CLOSED', `${method}: send failed`));
      });
    });
  }

  /** Closes the connection; pending requests reject with CAMGATE_KURENTO_CLOSED. Idempotent. */
  async close(): Promise<void> {
    if (this.#state !== 'OPEN') return;
    this.#state = 'CLOSING';
    const closed = new Promise<void>((resolve) => this.#ws.once('close', () => resolve()));
    try {
      this.#ws.close(1000);
    } catch {
      this.#ws.terminate();
    }
    // ws emits 'close' even when the peer never answers the close frame (after its own timeout).
    await closed;
  }

  #ping(params: JsonObject = {}): void {
    this.#request('ping', params, this.#opts.pingTimeoutMs).catch((err: unknown) => {
      if (this.#state !== 'OPEN') return;
      // A server that does not answer pings is gone: fail everything rather than hang.
      this.#logger.warn('ping failed; closing', { err });
      this.#ws.terminate();
    });
  }

  #onMessage(data: WebSocket.RawData, isBinary: boolean): void {
    if (isBinary) {
      this.#logger.warn('binary frame from the Kurento server ignored');
      return;
    }
    let msg: JsonRpcMessage;
    try {
      msg = parseMessage(data.toString('utf8'), this.#opts.maxMessageBytes);
    } catch (err) {
      this.#logger.warn('malformed message from the Kurento server ignored', { err });
      return;
    }
    if ('method' in msg) {
      if ('id' in msg) {
        // The Kurento server sends no requests to clients; JSON-RPC 2.0 §5.1 says what to answer.
        this.#ws.send(JSON.stringify(errorResponse(msg.id, JSONRPC_METHOD_NOT_FOUND, 'Method not found')));
        return;
      }
      if (msg.method === KURENTO_EVENT_METHOD) this.#onEvent(msg.params);
      return;
    }
    this.#onResponse(msg);
  }

  #onResponse(res: JsonRpcResponse): void {
    if (typeof res.id !== 'number') return;
    const p = this.#pending.get(res.id);
    if (!p) {
      this.#logger.debug('response to an unknown request ignored', { id: res.id });
      return;
    }
    this.#pending.delete(res.id);
    clearTimeout(p.timer);
    if ('error' in res) {
      p.reject(new KurentoRpcError(p.method, res.error));
      return;
    }
    const result = isObject(res.result) ? res.result : { value: res.result };
    if (typeof result.sessionId === 'string' && p.method !== 'ping') this.#sessionId = result.sessionId;
    p.resolve(result);
  }

  #onEvent(params: unknown): void {
    const value = isObject(params) ? params.value : undefined;
    if (!isObject(value) || typeof value.object !== 'string' || typeof value.type !== 'string') {
      this.#logger.warn('malformed onEvent ignored');
      return;
    }
    const event: KurentoEvent = {
      object: value.object,
      type: value.type,
      data: isObject(value.data) ? value.data : {},
    };
    for (const handler of this.#handlers.get(`${event.object}\u0000${event.type}`) ?? []) {
      try {
        handler(event);
      } catch (err) {
        this.#logger.warn('event handler threw', { err, type: event.type });
      }
    }
    this.emit('event', event);
  }

  #teardown(err: CamgateError | undefined): void {
    if (this.#state === 'CLOSED') return;
    this.#state = 'CLOSED';
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = undefined;
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      this.#pending.delete(id);
      p.reject(new CamgateError('CAMGATE_KURENTO_CLOSED', `${p.method}: connection closed`));
    }
    this.#handlers.clear();
    this.emit('close', err);
  }
}
