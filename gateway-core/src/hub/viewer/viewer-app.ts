/**
 * The hub's viewer web app: sign-in, the camera list, players. Mounted by the
 * Hub on its own server: `/`, `/login`, `/logout`, `/static/*` and the
 * `/viewer/ws` signalling WebSocket (the API keeps `/api/`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { defaultLogger, type Logger } from '../../util/index.js';
import type { GatewayStatus } from '../api.js';
import {
  LoginLimiter,
  SessionStore,
  UserDirectory,
  clearSessionCookie,
  parseCookies,
  sessionCookie,
  sessionCookieName,
  type EndedSession,
  type Session,
} from '../accounts/index.js';
import { ViewerConnection, type ViewerIceConfig } from './connection.js';
import { keepViewerSocketAlive } from './heartbeat.js';
import { originAllowed } from './origin.js';
import { resolveViewerOptions, type ResolvedViewerOptions, type ViewerOptions } from './options.js';
import { defaultStaticDir, loadStaticFiles, SECURITY_HEADERS, sendStatic, type StaticFile } from './static-files.js';

/** What the viewer needs from the hub it is mounted on. */
export interface ViewerHost {
  gatewayStatus(): GatewayStatus[];
  kurentoUrl(gatewayId: string): string;
  /**
   * The Kurento endpoint URL with a single-use talk grant for one camera (docs/kurento-policy.md "Talking back").
   * Without it no viewer can talk.
   */
  talkUrl?(gatewayId: string, cameraId: string): string;
  /** Whether the hub serves TLS (cookies get `Secure`, origins `https`). */
  secure: boolean;
  /** Calls `fn` whenever a gateway comes online or goes offline; returns the unsubscribe. */
  watchGateways(fn: () => void): () => void;
  /** The client a request comes from, for sign-in limits and logs (trusted-proxy aware). Default: the socket peer. */
  clientKey?(req: IncomingMessage): string;
}

const MAX_LOGIN_BODY = 4096;
/**
 * Gateway online/offline changes within this window reach the pages as one camera list. After a hub restart a
 * thousand gateways come back within seconds: one list per change would be N lists of N gateways for every page
 * (measured with `npm run bench:hub`, docs/hub-limits.md "A thousand homes").
 */
const GATEWAY_REFRESH_MS = 100;
const NO_ICE: ViewerIceConfig = { browser: [] };

export class ViewerApp {
  readonly #o: ResolvedViewerOptions;
  readonly #host: ViewerHost;
  readonly #log: Logger;
  readonly sessions: SessionStore;
  readonly #limiter: LoginLimiter;
  readonly #wss: WebSocketServer;
  readonly #connections = new Set<ViewerConnection>();
  #users: UserDirectory | undefined;
  #files = new Map<string, StaticFile>();
  #unwatch: (() => void) | undefined;
  #refreshTimer: NodeJS.Timeout | undefined;
  #state: 'idle' | 'running' | 'closed' = 'idle';

  constructor(opts: ViewerOptions, host: ViewerHost) {
    this.#o = resolveViewerOptions(opts);
    this.#host = host;
    this.#log = opts.logger ?? defaultLogger('hub:viewer');
    this.sessions = new SessionStore({
      file: this.#o.sessionsFile,
      ttlMs: this.#o.sessionTtlMs,
      maxSessions: this.#o.maxSessions,
    });
    this.sessions.onEnd((s) => this.#endSession(s));
    this.#limiter = new LoginLimiter(this.#o.login);
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: this.#o.maxMessageBytes });
  }

  /** Reads the users file and the static files; the hub calls it before listening. */
  async start(): Promise<void> {
    this.#users = this.#o.usersFile
      ? await UserDirectory.fromFile(this.#o.usersFile)
      : UserDirectory.fromRecords(this.#o.users ?? []);
    this.#files = await loadStaticFiles(this.#o.staticDir ?? defaultStaticDir());
    this.#unwatch = this.#host.watchGateways(() => {
      this.#refreshTimer ??= setTimeout(() => {
        this.#refreshTimer = undefined;
        // One status snapshot for every page: it walks all gateways.
        const status = this.#host.gatewayStatus();
        for (const c of this.#connections) {
          c.sendCameras(status);
          c.sendFlags(status); // a gateway's announce names its cameras: flags name them by it
        }
      }, GATEWAY_REFRESH_MS);
    });
    this.#state = 'running';
  }

  /** Viewer sockets open now. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Pushes the camera list to every page again (e.g. when an exposure state changed). */
  refreshCameras(): void {
    const status = this.#host.gatewayStatus();
    for (const c of this.#connections) c.sendCameras(status);
  }

  /** Pushes the raised flags to every page again (a flag was raised or cleared). */
  refreshFlags(): void {
    const status = this.#host.gatewayStatus();
    for (const c of this.#connections) c.sendFlags(status);
  }

  /** Handles the viewer's paths; false for others, so the hub can route them. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const method = req.method ?? 'GET';
    if (this.#state !== 'running' && isViewerPath(path)) {
      // Shutting down (or not started): the sessions are not readable now, which must not look like "signed out".
      return (json(res, 503, { error: 'The hub is restarting. Try again in a moment.' }, { 'Retry-After': '5' }), true);
    }
    if (path === '/') {
      if (!this.#get(method, res)) return true;
      if (!this.#session(req)) return (redirect(res, '/login'), true);
      sendStatic(res, this.#files.get('index.html')!, req.headers['if-none-match'], method === 'HEAD');
      return true;
    }
    if (path === '/login') {
      if (method === 'POST') return (await this.#login(req, res), true);
      if (!this.#get(method, res, 'GET, HEAD, POST')) return true;
      if (this.#session(req)) return (redirect(res, '/'), true);
      sendStatic(res, this.#files.get('login.html')!, req.headers['if-none-match'], method === 'HEAD');
      return true;
    }
    if (path === '/logout') {
      if (method !== 'POST') return (json(res, 405, { error: 'Use POST to sign out.' }, { Allow: 'POST' }), true);
      if (!originAllowed(req, this.#host.secure, this.#o.allowedOrigins)) {
        return (json(res, 403, { error: 'This request did not come from the camgate page.' }), true);
      }
      const s = this.#session(req);
      if (s) this.sessions.destroy(s.id);
      json(res, 200, { ok: true }, { 'Set-Cookie': clearSessionCookie(this.#host.secure) });
      return true;
    }
    if (path.startsWith('/static/')) {
      if (!this.#get(method, res)) return true;
      const file = this.#files.get(path.slice('/static/'.length));
      if (!file) return (json(res, 404, { error: 'not found' }), true);
      sendStatic(res, file, req.headers['if-none-match'], method === 'HEAD');
      return true;
    }
    if (path === '/viewer/ws') {
      json(res, 426, { error: 'This address speaks WebSocket.' }, { Upgrade: 'websocket' });
      return true;
    }
    return false;
  }

  /**
   * Handles an upgrade on `/viewer/ws`: same origin, a live session, and a socket budget per session.
   * `onAccepted` runs once the socket belongs to a signed-in user (the hub's connection caps stop counting it).
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, onAccepted?: () => void): void {
    if (this.#state !== 'running') return rejectUpgrade(socket, 503, 'Service Unavailable');
    if (!originAllowed(req, this.#host.secure, this.#o.allowedOrigins)) {
      this.#log.warn('viewer socket from a foreign origin refused', { origin: req.headers.origin });
      return rejectUpgrade(socket, 403, 'Forbidden');
    }
    const session = this.#session(req);
    const user = session && this.#users?.get(session.user);
    if (!session || !user) return rejectUpgrade(socket, 401, 'Unauthorized');
    const open = [...this.#connections].filter((c) => c.session.hash === session.hash).length;
    if (open >= this.#o.maxSocketsPerSession) return rejectUpgrade(socket, 429, 'Too Many Requests');
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      onAccepted?.();
      void this.#iceFor(user.name).then((ice) => {
        // 4401 sends the page to the sign-in form: only for a session that ended, not for a hub shutting down.
        if (this.#state !== 'running') return void ws.close(1001, 'hub shutting down');
        if (!this.sessions.get(session.id)) return void ws.close(4401, 'signed out');
        const conn = new ViewerConnection(ws, session, user, ice, {
          gatewayStatus: () => this.#host.gatewayStatus(),
          kurentoUrl: (id) => this.#host.kurentoUrl(id),
          talkUrl: this.#host.talkUrl ? (id, cam) => this.#host.talkUrl!(id, cam) : undefined,
          exposureFor: this.#o.exposureFor,
          flagsFor: this.#o.flagsFor,
          acceptCandidate: this.#o.acceptBrowserCandidate ?? (() => true),
          limits: {
            maxMessageBytes: this.#o.maxMessageBytes,
            maxSdpChars: this.#o.maxSdpChars,
            maxStreams: this.#o.maxStreamsPerSocket,
            maxMessagesPerSecond: this.#o.maxMessagesPerSecond,
            requestTimeoutMs: this.#o.requestTimeoutMs,
          },
          logger: this.#log.child(user.name),
        });
        this.#connections.add(conn);
        keepViewerSocketAlive(ws, this.#o.heartbeatMs);
        ws.on('close', () => this.#connections.delete(conn));
      });
    });
  }

  async #iceFor(user: string): Promise<ViewerIceConfig> {
    if (!this.#o.iceServersFor) return NO_ICE;
    try {
      const ice = await this.#o.iceServersFor(user);
      return ice && Array.isArray(ice.browser) ? ice : NO_ICE;
    } catch (err) {
      this.#log.warn('iceServersFor failed; the viewer gets no ICE servers', { err });
      return NO_ICE;
    }
  }

  #get(method: string, res: ServerResponse, allow = 'GET, HEAD'): boolean {
    if (method === 'GET' || method === 'HEAD') return true;
    json(res, 405, { error: 'method not allowed' }, { Allow: allow });
    return false;
  }

  #session(req: IncomingMessage): Session | undefined {
    return this.sessions.get(parseCookies(req.headers.cookie).get(sessionCookieName(this.#host.secure)));
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!originAllowed(req, this.#host.secure, this.#o.allowedOrigins)) {
      return json(res, 403, { error: 'This request did not come from the camgate sign-in page.' });
    }
    // A JSON body cannot be sent cross-site without a CORS preflight, which this server never grants.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      return json(res, 415, { error: 'Sign-in expects a JSON body.' });
    }
    const body = await readBody(req, MAX_LOGIN_BODY);
    let name: unknown;
    let password: unknown;
    try {
      if (body === undefined) throw new Error('too large');
      ({ name, password } = JSON.parse(body) as { name?: unknown; password?: unknown });
    } catch {
      return json(res, 400, { error: 'The sign-in form was not readable.' });
    }
    if (typeof name !== 'string' || typeof password !== 'string' || name.length > 64 || password.length > 256) {
      return json(res, 400, { error: 'Enter a user name and a password.' });
    }
    const ip = this.#host.clientKey?.(req) ?? req.socket.remoteAddress ?? 'unknown';
    const decision = this.#limiter.attempt(ip, name);
    if (!decision.ok) {
      const s = decision.retryAfterS;
      const wait = s < 60 ? `${s} second${s === 1 ? '' : 's'}` : `${Math.ceil(s / 60)} minutes`;
      const who = decision.scope === 'ip' ? 'from this address' : 'for this account from this address';
      this.#log.warn('sign-in rate-limited', { ip, scope: decision.scope });
      return json(
        res,
        429,
        { error: `Too many sign-in attempts ${who}. Wait ${wait} and try again.` },
        { 'Retry-After': String(s) },
      );
    }
    const users = this.#users!;
    let user;
    try {
      await users.refresh().catch((err: unknown) => this.#log.error('users file unreadable', { err }));
      user = await users.verify(name, password);
    } catch (err) {
      this.#limiter.abandoned(ip);
      throw err;
    }
    if (!user) {
      this.#limiter.failed(ip, name);
      this.#log.info('sign-in failed', { ip });
      return json(res, 401, { error: 'Wrong user name or password.' });
    }
    this.#limiter.succeeded(ip, name);
    const old = this.#session(req);
    if (old) this.sessions.destroy(old.id); // a fresh id at every sign-in (no session fixation)
    const session = this.sessions.create(user.name);
    this.#log.info('signed in', { user: user.name, ip });
    json(
      res,
      200,
      { ok: true, user: user.name },
      { 'Set-Cookie': sessionCookie(session.id, { secure: this.#host.secure, maxAgeS: this.#o.sessionTtlMs / 1000 }) },
    );
  }

  #endSession(s: EndedSession): void {
    for (const c of this.#connections) if (c.session.hash === s.hash) void c.close(4401, 'signed out');
  }

  /** Closes every viewer socket (releasing their players) and the sessions database (kept for the next start). Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#unwatch?.();
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = undefined;
    // Pipelines are not released: the pages' pictures play on through a hub restart (ViewerStream.abandon).
    await Promise.all([...this.#connections].map((c) => c.close(1001, 'hub shutting down', false)));
    this.#connections.clear();
    this.sessions.close();
    this.#wss.close();
  }
}

function isViewerPath(path: string): boolean {
  return (
    path === '/' || path === '/login' || path === '/logout' || path.startsWith('/static/') || path === '/viewer/ws'
  );
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'Content-Type': 'application/json; charset=utf-8',
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(JSON.stringify(body));
}

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(303, { ...SECURITY_HEADERS, Location: location, 'Cache-Control': 'no-store' }).end();
}

/** Reads a request body up to `max` bytes; undefined when larger (the rest is discarded). */
function readBody(req: IncomingMessage, max: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let over = false;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > max) over = true;
      else chunks.push(d);
    });
    req.on('end', () => resolve(over ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(undefined));
  });
}

function rejectUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
