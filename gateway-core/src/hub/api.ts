import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TunnelServer } from '../tunnel/index.js';
import type { ScanResult } from '../exposure/index.js';
import type { Logger } from '../util/index.js';
import { ApiAuthGuard, type ApiAuthLimits } from './api-auth.js';
import type { GatewayDirectory } from './gateway-directory.js';

/** What the API says about one gateway. */
export interface GatewayStatus {
  id: string;
  name: string | undefined;
  online: boolean;
  /** ISO time of the last online/offline change; undefined if it never connected. */
  since: string | undefined;
  /** The address the tunnel comes from: the home's public address. */
  remoteAddress: string | undefined;
  cameras: { id: string; name: string }[];
}

export interface HubApiOptions {
  directory: GatewayDirectory;
  tunnels: TunnelServer;
  /** The API tokens allowed, as stored by `camgate hub add-token` (`ID:scrypt$…`, see api-tokens.ts). */
  tokenHashes: readonly string[];
  /** Runs an exposure scan of one gateway now; undefined when the hub has no exposure monitor. */
  scan?: (gatewayId: string) => Promise<ScanResult> | undefined;
  /** The key a request's client is limited under (the hub passes its trusted-proxy-aware one). */
  clientKey?: (req: IncomingMessage) => string;
  /** Failed API authentications per client and the backoff after them. */
  authLimits?: ApiAuthLimits;
  logger?: Logger;
}

/**
 * A small authenticated JSON API under `/api/`. Accounts and the viewer pages
 * (a later issue) mount beside it on the same server and reuse `gatewayStatus`.
 */
export class HubApi {
  readonly #opts: HubApiOptions;
  readonly #auth: ApiAuthGuard;

  /** Throws CAMGATE_CONFIG for a stored token without an id (see api-tokens.ts). */
  constructor(opts: HubApiOptions) {
    this.#opts = opts;
    this.#auth = new ApiAuthGuard(opts.tokenHashes, opts.authLimits, opts.clientKey, opts.logger);
  }

  /** scrypt runs so far for API tokens: at most one per request (tests count them). */
  get kdfRuns(): number {
    return this.#auth.kdfRuns;
  }

  /** Status of every configured gateway, online or not. */
  gatewayStatus(): GatewayStatus[] {
    return this.#opts.directory.list().map((g) => {
      const peer = this.#opts.tunnels.peer(g.id);
      return {
        id: g.id,
        name: g.name,
        online: peer?.online ?? false,
        since: peer?.since.toISOString(),
        remoteAddress: peer?.remoteAddress,
        cameras: announcedCameras(peer?.announce),
      };
    });
  }

  /** Handles `/api/*`; returns false for other paths so the caller can route them. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = new URL(req.url ?? '/', 'http://hub');
    if (!url.pathname.startsWith('/api/')) return false;
    const scanPath = /^\/api\/gateways\/([^/]+)\/scan$/.exec(url.pathname);
    const allowed = scanPath ? 'POST' : 'GET';
    if (req.method !== allowed) {
      res.setHeader('Allow', allowed);
      return (send(res, 405, { error: 'method not allowed' }), true);
    }
    const auth = await this.#auth.authorize(req);
    if (auth !== true) {
      if (auth.retryAfterS !== undefined) {
        res.setHeader('Retry-After', String(auth.retryAfterS));
        return (send(res, 429, { error: 'too many failed API authentications; retry later' }), true);
      }
      res.setHeader('WWW-Authenticate', 'Bearer realm="camgate"');
      return (send(res, 401, { error: 'missing or wrong API token' }), true);
    }
    if (scanPath) return (await this.#scan(decodeURIComponent(scanPath[1]!), res), true);
    if (url.pathname === '/api/gateways') return (send(res, 200, { gateways: this.gatewayStatus() }), true);
    const m = /^\/api\/gateways\/([^/]+)\/cameras$/.exec(url.pathname);
    if (m) {
      const status = this.gatewayStatus().find((g) => g.id === decodeURIComponent(m[1]!));
      if (!status) return (send(res, 404, { error: 'no such gateway' }), true);
      return (send(res, 200, { cameras: status.cameras }), true);
    }
    return (send(res, 404, { error: 'not found' }), true);
  }

  /** `POST /api/gateways/:id/scan`: an on-demand exposure scan; the body is ignored. */
  async #scan(gatewayId: string, res: ServerResponse): Promise<void> {
    if (!this.#opts.directory.get(gatewayId)) return send(res, 404, { error: 'no such gateway' });
    const running = this.#opts.scan?.(gatewayId);
    if (!running) return send(res, 503, { error: 'the exposure monitor is not configured' });
    try {
      const r = await running;
      send(res, 200, {
        gatewayId,
        target: r.target,
        engine: r.engine,
        startedAt: r.startedAt,
        finishedAt: r.finishedAt,
        ports: r.ports,
        open: r.open.map((e) => ({ port: e.port, protocol: e.protocol, banner: e.banner, detail: e.detail })),
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'CAMGATE_EXPOSURE_UNKNOWN_GATEWAY') return send(res, 409, { error: 'gateway is offline', code });
      send(res, 502, { error: 'scan failed', code: code ?? 'CAMGATE_EXPOSURE' });
    }
  }
}

/** The cameras a gateway announced, validated: the announce payload comes from the network. */
export function announcedCameras(announce: unknown): { id: string; name: string }[] {
  const list = (announce as { cameras?: unknown } | undefined)?.cameras;
  if (!Array.isArray(list)) return [];
  return list
    .filter(
      (c): c is { id: string; name: string } =>
        typeof c?.id === 'string' && typeof c?.name === 'string' && c.id.length <= 63 && c.name.length <= 100,
    )
    .slice(0, 256)
    .map((c) => ({ id: c.id, name: c.name }));
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}
