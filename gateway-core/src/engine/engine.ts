import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { EngineAccess, engineUrlWithToken } from './access.js';
import { Connection } from './connection.js';
import { EngineCore, type EngineStats } from './core.js';
import { createDefaultMediaPlane } from './default-media.js';
import type { MediaPlane } from './media-plane.js';
import { resolveEngineOptions, type EngineOptions } from './options.js';

export type KurentoEngineEvents = {
  /** A session was released: its keep-alive ran out (`expired`) or the client closed it (`closed`). */
  sessionClosed: [sessionId: string, reason: 'expired' | 'closed'];
};

/** Bytes queued for one client before it is considered stuck and dropped: 8 MiB. */
const MAX_BUFFERED_BYTES = 8 * 1_048_576;

/**
 * The built-in engine: a Kurento-protocol server (JSON-RPC 2.0 over
 * WebSocket, `ws://127.0.0.1:8888/kurento?token=…` by default) that the
 * official kurento-client drives unchanged for viewing cameras. It trusts
 * only a client holding its token and never a browser (access.ts).
 */
export class KurentoEngine extends EventEmitter<KurentoEngineEvents> {
  /**
   * The URL a client connects with, token included: hand it to the gateway
   * or kurento-client as is, and never log it (the logger redacts `token=`).
   */
  readonly url: string;
  /** Where the engine listens, without the token: for logs and people. */
  readonly listenUrl: string;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #core: EngineCore;
  readonly #connections = new Set<Connection>();
  readonly #logger: Logger;
  /** Set when the engine created its media plane itself and so must close it. */
  #ownMedia: MediaPlane | undefined;
  #media: MediaPlane | undefined;
  #state: 'RUNNING' | 'CLOSING' | 'CLOSED' = 'RUNNING';
  #closing: Promise<void> | undefined;

  private constructor(
    http: Server,
    wss: WebSocketServer,
    core: EngineCore,
    urls: { url: string; listenUrl: string },
    logger: Logger,
  ) {
    super();
    this.#http = http;
    this.#wss = wss;
    this.#core = core;
    this.url = urls.url;
    this.listenUrl = urls.listenUrl;
    this.#logger = logger;
    core.on('sessionClosed', (id, reason) => this.emit('sessionClosed', id, reason));
  }

  static async start(options?: EngineOptions): Promise<KurentoEngine> {
    const opts = resolveEngineOptions(options);
    const logger = opts.logger ?? defaultLogger('engine');
    const ownMedia = opts.media
      ? undefined
      : createDefaultMediaPlane({
          logger: logger.child('media'),
          ...(opts.interfaceAddress ? { interfaceAddress: opts.interfaceAddress } : {}),
        });
    const media = opts.media ?? ownMedia;
    const core = new EngineCore({
      logger,
      media,
      iceServers: opts.iceServers,
      additionalHostAddresses: opts.additionalHostAddresses,
      sessionGcMs: opts.sessionGcMs,
      maxSessions: opts.maxSessions,
      maxObjectsPerSession: opts.maxObjectsPerSession,
      maxSubscriptionsPerSession: opts.maxSubscriptionsPerSession,
    });
    const http = createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('Kurento protocol: use a WebSocket\n');
    });
    // ws enforces maxPayload per message and closes with 1009 beyond it (RFC 6455 §7.4.1).
    const wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes });
    wss.on('error', (err) => logger.debug('websocket server error', { err }));
    const access = new EngineAccess(opts.token, opts.path);
    // Checked before the upgrade, so a refused client never gets a WebSocket (and never reaches a handler).
    http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const verdict = access.check(req);
      if (!verdict.ok) {
        // The URL is not logged: it may carry a (wrong or right) token.
        logger.warn('connection refused', {
          reason: verdict.reason,
          status: verdict.status,
          remote: req.socket.remoteAddress,
          ...(verdict.reason === 'browser-origin' ? { origin: String(req.headers.origin).slice(0, 200) } : {}),
        });
        refuseUpgrade(socket, verdict.status);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        void ownMedia?.sources.close();
        reject(
          new CamgateError(
            'CAMGATE_ENGINE_LISTEN',
            `engine cannot listen on ${opts.host}:${opts.port}: ${err.message}`,
          ),
        );
      };
      http.once('error', onError);
      http.listen(opts.port, opts.host, () => {
        http.off('error', onError);
        resolve();
      });
    });
    const addr = http.address() as AddressInfo;
    const hostPart = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    const listenUrl = `ws://${hostPart}:${addr.port}${opts.path}`;
    const engine = new KurentoEngine(
      http,
      wss,
      core,
      { url: engineUrlWithToken(listenUrl, opts.token), listenUrl },
      logger,
    );
    engine.#ownMedia = ownMedia;
    engine.#media = media;
    const serverId = randomUUID();
    wss.on('connection', (ws) => {
      if (engine.#state !== 'RUNNING') {
        ws.close(1001, 'engine closing');
        return;
      }
      const conn = new Connection(ws, {
        core,
        serverId,
        maxPendingRequests: opts.maxPendingRequests,
        maxBufferedBytes: MAX_BUFFERED_BYTES,
        logFrames: opts.logFrames,
        logger: logger.child('conn'),
      });
      engine.#connections.add(conn);
      ws.once('close', () => engine.#connections.delete(conn));
    });
    logger.info('engine listening', { url: engine.listenUrl, media: opts.media ? 'injected' : 'built-in' });
    return engine;
  }

  /**
   * The cached keyframe (SPS, PPS, IDR slices as NAL units without start codes) of the camera pull of `uri`
   * when one is open, else undefined; never opens a pull. For in-process users such as the Homebridge
   * plugin, which decodes it into a snapshot instead of opening a new RTSP session per picture.
   */
  latestKeyframe(uri: string): Buffer[] | undefined {
    if (this.#state !== 'RUNNING' || typeof uri !== 'string') return undefined;
    return this.#media?.sources.latestKeyframe?.(uri);
  }

  stats(): EngineStats {
    return this.#core.stats();
  }

  /** Open client connections. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Closes every connection, releases every object, stops listening. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'CLOSING';
    for (const c of this.#connections) {
      try {
        c.terminate();
      } catch (err) {
        this.#logger.debug('terminate failed', { err });
      }
    }
    this.#connections.clear();
    try {
      await this.#core.close();
    } catch (err) {
      this.#logger.warn('release on close failed', { err });
    }
    try {
      await this.#ownMedia?.sources.close();
    } catch (err) {
      this.#logger.warn('closing the media plane failed', { err });
    }
    try {
      await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
    } catch (err) {
      this.#logger.debug('ws close failed', { err });
    }
    await new Promise<void>((resolve) => {
      this.#http.close(() => resolve());
      this.#http.closeAllConnections();
    });
    this.#state = 'CLOSED';
    this.#logger.info('engine closed');
  }
}

const STATUS_TEXT = { 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found' } as const;

/** Answers a refused upgrade with a plain HTTP status; the body names no credential. */
function refuseUpgrade(socket: Duplex, status: 401 | 403 | 404): void {
  socket.on('error', () => undefined); // a client that resets while refused must not take the engine down
  const body =
    status === 401
      ? 'this engine requires its token: ws://HOST:PORT/kurento?token=TOKEN\n'
      : status === 403
        ? 'browsers may not connect to the media engine\n'
        : 'no Kurento endpoint at this path\n';
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
