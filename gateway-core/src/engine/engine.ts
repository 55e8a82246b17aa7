import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
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
 * WebSocket, `ws://127.0.0.1:8888/kurento` by default) that the official
 * kurento-client drives unchanged for viewing cameras.
 */
export class KurentoEngine extends EventEmitter<KurentoEngineEvents> {
  readonly url: string;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #core: EngineCore;
  readonly #connections = new Set<Connection>();
  readonly #logger: Logger;
  /** Set when the engine created its media plane itself and so must close it. */
  #ownMedia: MediaPlane | undefined;
  #state: 'RUNNING' | 'CLOSING' | 'CLOSED' = 'RUNNING';
  #closing: Promise<void> | undefined;

  private constructor(http: Server, wss: WebSocketServer, core: EngineCore, url: string, logger: Logger) {
    super();
    this.#http = http;
    this.#wss = wss;
    this.#core = core;
    this.url = url;
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
    const wss = new WebSocketServer({ server: http, path: opts.path, maxPayload: opts.maxMessageBytes });
    // ws re-emits the http server's errors (a failed listen too): without a listener they would throw.
    wss.on('error', (err) => logger.debug('websocket server error', { err }));
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
    const engine = new KurentoEngine(http, wss, core, `ws://${hostPart}:${addr.port}${opts.path}`, logger);
    engine.#ownMedia = ownMedia;
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
        logger: logger.child('conn'),
      });
      engine.#connections.add(conn);
      ws.once('close', () => engine.#connections.delete(conn));
    });
    logger.info('engine listening', { url: engine.url, media: opts.media ? 'injected' : 'built-in' });
    return engine;
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
