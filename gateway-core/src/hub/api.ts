import type { IncomingMessage, ServerResponse } from 'node:http';
import { verifySecret, type TunnelServer } from '../tunnel/index.js';
import type { ScanResult } from '../exposure/index.js';
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
  /** scrypt hashes of the API tokens allowed. */
  tokenHashes: readonly string[];
  /** Runs an exposure scan of one gateway now; undefined when the hub has no exposure monitor. */
  scan?: (gatewayId: string) => Promise<ScanResult> | undefined;
}

/** How many verified tokens are remembered, so a client does not pay scrypt on every request. */
const TOKEN_CACHE_MAX = 64;

/**
 * A small authenticated JSON API under `/api/`. Accounts and the viewer pages
 * (a later issue) mount beside it on the same server and reuse `gatewayStatus`.
 */
export class HubApi {
  readonly #opts: HubApiOptions;
  readonly #verified = new Set<string>();

  constructor(opts: HubApiOptions) {
    this.#opts = opts;
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
    if (!(await this.#authorized(req))) {
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

  async #authorized(req: IncomingMessage): Promise<boolean> {
    const header = req.headers.authorization ?? '';
    const m = /^Bearer ([A-Za-z0-9_-]{16,256})$/.exec(header);
    if (!m?.[1]) return false;
    const token = m[1];
    if (this.#verified.has(token)) return true;
    for (const hash of this.#opts.tokenHashes) {
      if (await verifySecret(token, hash)) {
        if (this.#verified.size >= TOKEN_CACHE_MAX) this.#verified.clear();
        this.#verified.add(token);
        return true;
      }
    }
    return false;
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
