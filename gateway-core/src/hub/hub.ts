import { EventEmitter } from 'node:events';
import type { Flag } from '../alerts/index.js';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TunnelServer, type TunnelPeer } from '../tunnel/index.js';
import { CamgateError, addressKey, defaultLogger, isLoopbackHost, type Logger } from '../util/index.js';
import { ClientAddressResolver } from './abuse/client-address.js';
import { ConnectionGuard } from './abuse/connection-guard.js';
import { httpServerTimeouts, resolveTimeouts } from './abuse/timeouts.js';
import { HubApi } from './api.js';
import { ExposureService } from './exposure-service.js';
import { GatewayDirectory } from './gateway-directory.js';
import { GatewayFlagBoard } from './gateway-flags.js';
import { DEFAULT_HUB_OPTIONS, type HubOptions } from './hub-options.js';
import { KurentoEndpoint } from './kurento-endpoint.js';
import { ViewerApp } from './viewer/index.js';
import { TurnCredentialMinter, type TurnIceServer } from './turn.js';

export interface HubEvents {
  /** A gateway came online or went offline. */
  gateway: [{ gatewayId: string; online: boolean; remoteAddress: string | undefined; reason?: string }];
}

/**
 * The internet side: accepts gateway tunnels on `/tunnel`, serves the API on
 * `/api/`, and exposes one Kurento endpoint per connected gateway on a
 * loopback port for the hub's own applications (the viewer, tests, tools).
 */
export class Hub extends EventEmitter<HubEvents> {
  readonly directory: GatewayDirectory;
  readonly tunnels: TunnelServer;
  readonly api: HubApi;
  /** The viewer web app, when the `viewer` option is set. */
  readonly viewer: ViewerApp | undefined;
  /** TURN credential source, when the `turn` option is set. */
  readonly turn: TurnCredentialMinter | undefined;
  /** The gateways' own flags (LAN audit, takeover) as they send them through the tunnel; the viewer shows them. */
  readonly gatewayFlags: GatewayFlagBoard;
  readonly #log: Logger;
  readonly #server: http.Server | https.Server;
  readonly #kurentoServer: http.Server;
  readonly #kurento: KurentoEndpoint;
  readonly #opts: HubOptions;
  readonly #clients: ClientAddressResolver;
  /** Caps on the public server's connections. */
  readonly connections: ConnectionGuard;
  #exposure: ExposureService | undefined;
  #flagRefresh: NodeJS.Timeout | undefined;
  #state: 'idle' | 'running' | 'closing' | 'closed' = 'idle';

  private constructor(opts: HubOptions) {
    super();
    this.#opts = opts;
    this.#log = opts.logger ?? defaultLogger('hub');
    const host = opts.listen?.host ?? DEFAULT_HUB_OPTIONS.listen.host;
    if (!opts.tls && !opts.allowInsecure && !isLoopbackHost(host)) {
      throw new CamgateError(
        'CAMGATE_HUB_INSECURE',
        `hub listen.host ${host} is not loopback: configure tls (certificate and key) or set allowInsecure: true behind a TLS proxy`,
      );
    }
    const kurentoHost = opts.kurento?.host ?? DEFAULT_HUB_OPTIONS.kurento.host;
    if (!isLoopbackHost(kurentoHost)) {
      throw new RangeError(
        `hub option kurento.host: ${kurentoHost} is not loopback; the Kurento endpoints carry no authentication`,
      );
    }
    this.#clients = new ClientAddressResolver({
      trustedProxies: opts.trustedProxies,
      forwardedHeader: opts.forwardedHeader,
    });
    const clientKey = (req: http.IncomingMessage): string => addressKey(this.#clients.resolve(req));
    this.connections = new ConnectionGuard(
      opts.connections ?? {},
      (a) => this.#clients.isTrusted(a),
      this.#log.child('connections'),
    );
    const timeouts = resolveTimeouts(opts.timeouts);
    const hstsMaxAgeS = opts.hstsMaxAgeS ?? DEFAULT_HUB_OPTIONS.hstsMaxAgeS;
    if (!Number.isSafeInteger(hstsMaxAgeS) || hstsMaxAgeS < 0) {
      throw new RangeError(`hub option hstsMaxAgeS: ${String(hstsMaxAgeS)} is not allowed (an integer >= 0)`);
    }
    this.turn = opts.turn === undefined ? undefined : new TurnCredentialMinter(opts.turn);
    this.directory = new GatewayDirectory(opts.gateways ?? []);
    this.tunnels = new TunnelServer({
      ...opts.tunnel,
      lookupVerifier: this.directory.lookupVerifier,
      clientAddress: (req) => this.#clients.resolve(req),
      logger: this.#log.child('tunnel'),
    });
    this.tunnels.on('authenticated', (socket) => this.connections.authenticated(socket));
    this.tunnels.on('peer', (peer) => this.#watchPeer(peer));
    this.gatewayFlags = new GatewayFlagBoard({ tunnels: this.tunnels, logger: this.#log.child('gateway-flags') });
    this.gatewayFlags.on('change', () => this.#refreshFlags());
    this.api = new HubApi({
      directory: this.directory,
      tunnels: this.tunnels,
      tokenHashes: opts.apiTokenHashes ?? [],
      authLimits: opts.apiAuthLimits,
      clientKey,
      logger: this.#log.child('api'),
      scan: (gatewayId) => this.#exposure?.scanNow(gatewayId),
    });
    const maxMessageBytes = opts.maxMessageBytes ?? DEFAULT_HUB_OPTIONS.maxMessageBytes;
    this.#kurento = new KurentoEndpoint({
      tunnels: this.tunnels,
      logger: this.#log.child('kurento'),
      maxMessageBytes,
      logFrames: opts.logFrames === true,
    });
    this.viewer = opts.viewer
      ? new ViewerApp(
          {
            iceServersFor: (user) => ({
              browser: this.iceServersFor(user),
              engine: { turnUrl: this.kurentoTurnUrlFor(user) },
            }),
            exposureFor: (gatewayId, cameraId) => this.#exposure?.stateFor(gatewayId, cameraId),
            flagsFor: (gatewayId) => this.flagsFor(gatewayId),
            ...opts.viewer,
            logger: opts.viewer.logger ?? this.#log.child('viewer'),
          },
          {
            gatewayStatus: () => this.api.gatewayStatus(),
            kurentoUrl: (id) => this.kurentoUrl(id),
            talkUrl: (id, cameraId) => this.kurentoTalkUrl(id, cameraId),
            secure: opts.tls !== undefined,
            clientKey,
            watchGateways: (fn) => {
              this.on('gateway', fn);
              return () => this.off('gateway', fn);
            },
          },
        )
      : undefined;

    const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
      // RFC 6797 §7.1: only over TLS (a proxy in front of a plain hub sets its own).
      if (opts.tls && hstsMaxAgeS > 0) res.setHeader('Strict-Transport-Security', `max-age=${hstsMaxAgeS}`);
      res.once('close', this.connections.busy(req.socket));
      const route = async (): Promise<boolean> =>
        (await this.api.handle(req, res)) || ((await this.viewer?.handle(req, res)) ?? false);
      route().then(
        (handled) => {
          if (!handled) {
            res.writeHead(404, { 'Content-Type': 'text/plain' });
            res.end('not found');
          }
        },
        (err: unknown) => {
          this.#log.error('request failed', { err, path: req.url });
          if (!res.headersSent) res.writeHead(500);
          res.end();
        },
      );
    };
    const serverOpts = httpServerTimeouts(timeouts);
    this.#server = opts.tls
      ? https.createServer(
          {
            ...serverOpts,
            cert: opts.tls.cert,
            key: opts.tls.key,
            handshakeTimeout: timeouts.tlsHandshakeTimeoutMs,
          },
          onRequest,
        )
      : http.createServer(serverOpts, onRequest);
    this.connections.attach(this.#server);
    this.#server.on('upgrade', (req, socket, head) => {
      const path = (req.url ?? '').split('?')[0];
      if (path === '/tunnel') this.tunnels.handleUpgrade(req, socket, head);
      else if (path === '/viewer/ws' && this.viewer) {
        this.viewer.handleUpgrade(req, socket, head, () => this.connections.authenticated(socket));
      } else socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
    });
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
      // Headers or body too slow (headersTimeout/requestTimeout): say so, as Node does without this listener.
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && socket.writable) {
        socket.end('HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.destroy();
    });
    this.#kurentoServer = http.createServer((_req, res) => {
      res.writeHead(426, { 'Content-Type': 'text/plain' });
      res.end('Kurento endpoints speak WebSocket: ws://HOST:PORT/kurento/GATEWAY_ID');
    });
    this.#kurentoServer.on('upgrade', (req, socket, head) => this.#kurento.handleUpgrade(req, socket, head));
  }

  /** Creates the hub and starts listening. */
  static async start(opts: HubOptions = {}): Promise<Hub> {
    const hub = new Hub(opts);
    await hub.viewer?.start();
    // Before listening, so it sees every gateway that connects.
    if (opts.exposure) {
      hub.#exposure = await ExposureService.create({
        ...opts.exposure,
        tunnels: hub.tunnels,
        directory: hub.directory,
        logger: hub.#log.child('exposure'),
      });
      // The viewer page shows each camera's exposure: push the list again when it may have changed.
      hub.#exposure.on('scan', () => hub.viewer?.refreshCameras());
      hub.#exposure.on('transition', () => {
        hub.viewer?.refreshCameras();
        hub.#refreshFlags();
      });
    }
    try {
      await hub.#listen();
    } catch (err) {
      await hub.#exposure?.close();
      throw err;
    }
    return hub;
  }

  async #listen(): Promise<void> {
    const listen = (server: http.Server, host: string, port: number): Promise<void> =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    await listen(
      this.#server,
      this.#opts.listen?.host ?? DEFAULT_HUB_OPTIONS.listen.host,
      this.#opts.listen?.port ?? DEFAULT_HUB_OPTIONS.listen.port,
    );
    try {
      await listen(
        this.#kurentoServer,
        this.#opts.kurento?.host ?? DEFAULT_HUB_OPTIONS.kurento.host,
        this.#opts.kurento?.port ?? DEFAULT_HUB_OPTIONS.kurento.port,
      );
    } catch (err) {
      this.#server.close();
      throw err;
    }
    // After listening, a failed accept (EMFILE when the process is out of file descriptors) is logged
    // instead of an unhandled 'error' that would end the process; the server keeps accepting.
    for (const server of [this.#server, this.#kurentoServer]) {
      server.on('error', (err) => this.#log.error('accepting a connection failed', { err }));
    }
    this.#state = 'running';
    this.#log.info('hub listening', { url: this.url, kurento: this.kurentoUrl('GATEWAY_ID') });
  }

  /** The outside exposure monitor, when `exposure` is configured (`exposureFor()` for the viewer). */
  get exposure(): ExposureService | undefined {
    return this.#exposure;
  }

  /**
   * The raised flags of one gateway, for the viewer: the outside monitor's (when `exposure` is configured) and
   * the ones the gateway sent about itself.
   */
  flagsFor(gatewayId: string): Flag[] {
    const outside = this.#exposure?.store.list({ gatewayId, state: 'raised' }) ?? [];
    return [...outside, ...this.gatewayFlags.list(gatewayId)];
  }

  #refreshFlags(): void {
    if (this.#flagRefresh || this.#state === 'closing' || this.#state === 'closed') return;
    this.#flagRefresh = setTimeout(() => {
      this.#flagRefresh = undefined;
      this.viewer?.refreshFlags();
    }, DEFAULT_HUB_OPTIONS.flagRefreshMs);
  }

  /** The browser's `RTCPeerConnection` iceServers for `user`: fresh TURN credentials, or [] without TURN. */
  iceServersFor(user: string): TurnIceServer[] {
    return this.turn ? this.turn.iceServersFor(user) : [];
  }

  /** The value for the media backend's `WebRtcEndpoint.setTurnUrl` for `user`, or undefined without TURN. */
  kurentoTurnUrlFor(user: string): string | undefined {
    return this.turn?.kurentoTurnUrlFor(user);
  }

  /** Base URL gateways and browsers use (`https://…` or `http://…`). */
  get url(): string {
    const a = this.#server.address() as AddressInfo;
    return `${this.#opts.tls ? 'https' : 'http'}://${hostForUrl(a.address)}:${a.port}`;
  }

  /** The tunnel URL gateways dial. */
  get tunnelUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/tunnel`;
  }

  /**
   * The Kurento endpoint for one gateway with a single-use talk grant for one camera (valid 30 s): the one
   * connection made with it may talk through that camera's speaker (docs/kurento-policy.md "Talking back").
   * The viewer mints one per push-to-talk press after checking the person's talk setting; an application
   * server beside the hub that checks its own users may do the same.
   */
  kurentoTalkUrl(gatewayId: string, cameraId: string): string {
    if (typeof gatewayId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(gatewayId)) {
      throw new TypeError(`kurentoTalkUrl: gatewayId ${JSON.stringify(gatewayId)} is not a gateway id`);
    }
    if (typeof cameraId !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(cameraId)) {
      throw new TypeError(`kurentoTalkUrl: cameraId ${JSON.stringify(cameraId)} is not a camera id`);
    }
    return `${this.kurentoUrl(gatewayId)}?talk=${this.#kurento.issueTalkTicket(gatewayId, cameraId)}`;
  }

  /** The Kurento endpoint for one gateway, for `kurento-client`. */
  kurentoUrl(gatewayId: string): string {
    const a = this.#kurentoServer.address() as AddressInfo;
    return `ws://${hostForUrl(a.address)}:${a.port}/kurento/${gatewayId}`;
  }

  #watchPeer(peer: TunnelPeer): void {
    // The gateway lets its media backend use the TURN servers named here (docs/kurento-policy.md "Media
    // targets"): URLs only, the secret and minted credentials never enter the tunnel handshake.
    peer.mediaRelays = this.turn ? [...this.turn.urls] : [];
    const report = (online: boolean, reason?: string): void => {
      this.#log.info(online ? 'gateway online' : 'gateway offline', {
        gatewayId: peer.gatewayId,
        from: peer.remoteAddress,
        reason,
      });
      this.emit('gateway', { gatewayId: peer.gatewayId, online, remoteAddress: peer.remoteAddress, reason });
    };
    if (peer.online) report(true);
    peer.on('online', () => report(true));
    peer.on('offline', (reason) => report(false, reason));
  }

  /** Stops accepting, closes every tunnel and Kurento connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    clearTimeout(this.#flagRefresh);
    this.#flagRefresh = undefined;
    this.gatewayFlags.close();
    try {
      await this.viewer?.close();
    } catch (err) {
      this.#log.warn('closing the viewer failed', { err });
    }
    try {
      await this.#exposure?.close();
    } catch (err) {
      this.#log.warn('closing the exposure monitor failed', { err });
    }
    try {
      this.#kurento.close();
    } catch (err) {
      this.#log.warn('closing kurento endpoints failed', { err });
    }
    try {
      await this.tunnels.close();
    } catch (err) {
      this.#log.warn('closing tunnels failed', { err });
    }
    for (const server of [this.#server, this.#kurentoServer]) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    this.#state = 'closed';
  }
}

function hostForUrl(address: string): string {
  return address.includes(':') ? `[${address}]` : address;
}
