import { WebSocket, type RawData } from 'ws';
import type { Logger } from '../util/index.js';
import type { EngineCore } from './core.js';
import { KurentoRpcError } from './errors.js';
import { handlerFor, type HandlerContext, type RequestConnection } from './handlers/index.js';
import type { Params } from './params.js';
import { errorFrame, parseInbound, resultFrame, toRpcError, type RpcId } from './protocol.js';
import { SessionRegistry, type Session, type SessionPeer } from './session.js';

export interface ConnectionOptions {
  core: EngineCore;
  serverId: string;
  /** Requests waiting behind the one running; more are refused at once. */
  maxPendingRequests: number;
  /** Bytes queued for a client that does not read before it is dropped. */
  maxBufferedBytes: number;
  /** Log every frame both ways at debug (`--verbose`); the logger redacts URL credentials. */
  logFrames?: boolean;
  logger: Logger;
}

/** A logged frame is cut here. */
const MAX_LOGGED_FRAME_CHARS = 4096;

/**
 * One client WebSocket. Requests run one after the other, in arrival order,
 * so pipelined calls on one endpoint (processOffer then gatherCandidates)
 * see each other's effects; `ping` is answered at once so a slow SDP
 * operation never makes the client think the server is gone.
 */
export class Connection implements RequestConnection, SessionPeer {
  pingIntervalMs = 0;
  readonly #ws: WebSocket;
  readonly #opts: ConnectionOptions;
  readonly #ctx: HandlerContext;
  #session: Session | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  #closed = false;

  constructor(ws: WebSocket, opts: ConnectionOptions) {
    this.#ws = ws;
    this.#opts = opts;
    const core = opts.core;
    this.#ctx = {
      core,
      conn: this,
      serverId: opts.serverId,
      session: (params) => this.#sessionFor(params),
      dispatch: async (method, params) => handlerFor(method)(params, this.#ctx),
    };
    ws.on('message', (data) => this.#onMessage(data));
    ws.on('close', () => this.#onClose());
    ws.on('error', (err) => opts.logger.debug('socket error', { err }));
  }

  get session(): Session | undefined {
    return this.#session;
  }

  bind(session: Session): void {
    const sessions = this.#opts.core.sessions;
    if (this.#session && this.#session !== session) sessions.detach(this.#session, this);
    this.#session = session;
    if (!this.#closed) sessions.attach(session, this);
  }

  unbind(): void {
    if (this.#session) this.#opts.core.sessions.detach(this.#session, this);
    this.#session = undefined;
  }

  sendEvent(frame: string): void {
    this.#send(frame);
  }

  #sessionFor(params: Params): Session {
    const sid = params.sessionId;
    if (sid !== undefined && sid !== null && !SessionRegistry.validId(sid)) {
      throw new KurentoRpcError('INVALID_PARAMS', "'sessionId' is not a valid session id");
    }
    const wanted = (sid as string | undefined | null) ?? this.#session?.id;
    const session = this.#opts.core.sessions.obtain(wanted);
    if (session !== this.#session || session.peer !== this) this.bind(session);
    return session;
  }

  #send(frame: string): void {
    if (this.#closed || this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#opts.logFrames) this.#opts.logger.debug('sent', { frame: frame.slice(0, MAX_LOGGED_FRAME_CHARS) });
    if (this.#ws.bufferedAmount > this.#opts.maxBufferedBytes) {
      // A client that stops reading must not make the engine hold its events forever.
      this.#opts.logger.warn('client not reading; dropping connection', { session: this.#session?.id });
      this.#ws.terminate();
      return;
    }
    this.#ws.send(frame);
  }

  // kurento-client writes through websocket-stream, which sends binary frames: both kinds carry JSON text.
  #onMessage(data: RawData): void {
    if (this.#closed) return;
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as Buffer).toString('utf8');
    if (this.#opts.logFrames) this.#opts.logger.debug('received', { frame: text.slice(0, MAX_LOGGED_FRAME_CHARS) });
    const msg = parseInbound(text);
    if (msg.kind === 'response') return; // the engine sends no requests, so there is nothing to match
    if (msg.kind === 'invalid') {
      this.#send(errorFrame(msg.id, msg.error.toJSON()));
      return;
    }
    if (msg.method === 'ping') {
      void this.#run(msg.id, msg.method, msg.params, msg.notification);
      return;
    }
    if (this.#pending >= this.#opts.maxPendingRequests) {
      if (!msg.notification) {
        const err = new KurentoRpcError('NOT_ENOUGH_RESOURCES', 'Too many requests in flight on this connection');
        this.#send(errorFrame(msg.id, err.toJSON()));
      }
      return;
    }
    this.#pending++;
    this.#queue = this.#queue.then(async () => {
      try {
        await this.#run(msg.id, msg.method, msg.params, msg.notification);
      } finally {
        this.#pending--;
      }
    });
  }

  async #run(id: RpcId, method: string, params: Params, notification: boolean): Promise<void> {
    let frame: string;
    try {
      const result = await handlerFor(method)(params, this.#ctx);
      frame = resultFrame(id, result);
    } catch (err) {
      if (!(err instanceof KurentoRpcError)) this.#opts.logger.error('handler failed', { method, err });
      frame = errorFrame(id, toRpcError(err));
    }
    // JSON-RPC 2.0 §4.1: a notification is never answered.
    if (!notification) this.#send(frame);
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#session) this.#opts.core.sessions.detach(this.#session, this);
  }

  /** Closes the socket (engine shutdown). */
  close(code = 1001, reason = 'engine closing'): void {
    this.#onClose();
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) {
      this.#ws.close(code, reason);
    }
  }

  terminate(): void {
    this.#onClose();
    this.#ws.terminate();
  }
}
