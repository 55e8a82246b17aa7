import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CHANNEL_CLOSE, type Channel, type TunnelServer } from '../tunnel/index.js';
import type { Logger } from '../util/index.js';

export interface KurentoEndpointOptions {
  tunnels: TunnelServer;
  logger: Logger;
  /** Largest Kurento message accepted from a client. */
  maxMessageBytes: number;
  /** Log every message both ways at debug (`--verbose`). */
  logFrames?: boolean;
}

/** A logged frame is cut here. */
const MAX_LOGGED_FRAME_CHARS = 4096;

/** How long a talk ticket stays usable (ms): the viewer stream connects with it right away. */
export const TALK_TICKET_TTL_MS = 30_000; // 30 s
/** Most unused talk tickets held (each viewer stream that talks uses one at once). */
const MAX_TALK_TICKETS = 1024;
/** `?talk=TICKET`: 24 random bytes, base64url. */
const TALK_QUERY = /^talk=([A-Za-z0-9_-]{32})$/;

/** `/kurento/GATEWAY_ID` — one Kurento endpoint per connected gateway. */
const PATH = /^\/kurento\/([A-Za-z0-9][A-Za-z0-9_-]{0,62})\/?$/;

/**
 * The hub's Kurento endpoints: the official `kurento-client` connects to
 * `ws://HOST:PORT/kurento/GATEWAY_ID` unchanged, and each connection becomes
 * one channel through that gateway's tunnel. The hub holds no Kurento state of
 * its own: sessions, objects and events all live behind the gateway.
 */
export class KurentoEndpoint {
  readonly #opts: KurentoEndpointOptions;
  readonly #wss: WebSocketServer;
  readonly #links = new Set<{ ws: WebSocket; channel: Channel }>();
  /** Single-use talk grants (docs/kurento-policy.md "Talking back"), by ticket. */
  readonly #talkTickets = new Map<string, { gatewayId: string; cameraId: string; expiresAt: number }>();

  constructor(opts: KurentoEndpointOptions) {
    this.#opts = opts;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes });
  }

  /** Number of Kurento connections relayed right now. */
  get connections(): number {
    return this.#links.size;
  }

  /**
   * A single-use ticket that makes the next Kurento connection to `gatewayId` carrying `?talk=TICKET` a talking
   * one for `cameraId`: its tunnel channel's meta names the camera, and the gateway's policy then allows the talk
   * path for that camera's player (and only then). The endpoints themselves carry no authentication (loopback,
   * for the application server beside the hub): a talk grant must therefore not be a URL anyone could write,
   * so the hub's viewer — which checked that the signed-in person may talk — mints one per talking stream.
   */
  issueTalkTicket(gatewayId: string, cameraId: string): string {
    const now = Date.now();
    for (const [t, v] of this.#talkTickets) if (v.expiresAt <= now) this.#talkTickets.delete(t);
    while (this.#talkTickets.size >= MAX_TALK_TICKETS) {
      this.#talkTickets.delete(this.#talkTickets.keys().next().value as string);
    }
    const ticket = randomBytes(24).toString('base64url');
    this.#talkTickets.set(ticket, { gatewayId, cameraId, expiresAt: now + TALK_TICKET_TTL_MS });
    return ticket;
  }

  /** Routes an HTTP upgrade; answers 404 for other paths and 503 when the gateway is offline. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const [path = '', query] = (req.url ?? '').split('?', 2);
    const match = PATH.exec(path);
    if (!match?.[1])
      return reject(socket, 404, 'Not Found', 'no Kurento endpoint at this path; use /kurento/GATEWAY_ID');
    let meta: Record<string, unknown> = { kind: 'kurento' };
    if (query !== undefined && query !== '') {
      const ticket = TALK_QUERY.exec(query)?.[1];
      const grant = ticket === undefined ? undefined : this.#talkTickets.get(ticket);
      if (ticket !== undefined) this.#talkTickets.delete(ticket);
      if (!grant || grant.gatewayId !== match[1] || grant.expiresAt <= Date.now()) {
        this.#opts.logger.warn('kurento connection refused: no valid talk ticket', { gatewayId: match[1] });
        return reject(socket, 403, 'Forbidden', 'the talk ticket is unknown, used or expired');
      }
      meta = { kind: 'kurento', talk: [grant.cameraId] };
    }
    // These endpoints are for the application server beside the hub (kurento-client on Node), never for a
    // page: a browser always sends Origin on a WebSocket handshake (RFC 6455 §4.1), and WebSockets are not
    // bound by the same-origin policy, so any web page the hub's operator opens could otherwise drive them.
    if (req.headers.origin !== undefined) {
      this.#opts.logger.warn('kurento connection refused: browser origin', {
        gatewayId: match[1],
        origin: String(req.headers.origin).slice(0, 200),
        remote: req.socket.remoteAddress,
      });
      return reject(socket, 403, 'Forbidden', 'browsers may not connect to the Kurento endpoints');
    }
    const peer = this.#opts.tunnels.peer(match[1]);
    if (!peer || !peer.online)
      return reject(socket, 503, 'Service Unavailable', `gateway ${match[1]} is not connected`);
    let channel: Channel;
    try {
      channel = peer.openChannel(meta);
    } catch (err) {
      // Beyond the tunnel's channel limit, say so (and log it) instead of dropping the client silently.
      const message = (err as Error).message;
      this.#opts.logger.warn('kurento connection refused', {
        gatewayId: match[1],
        code: (err as { code?: unknown }).code,
        reason: message,
      });
      return reject(socket, 503, 'Service Unavailable', message);
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => this.#link(ws, channel, match[1]!));
  }

  #link(ws: WebSocket, channel: Channel, gatewayId: string): void {
    const link = { ws, channel };
    this.#links.add(link);
    const log = this.#opts.logger.child(`${gatewayId}:ch${channel.id}`);
    log.debug('kurento client connected', {});
    // Kurento's protocol is JSON text, but the official client (through websocket-stream) sends it in binary
    // frames, as KMS accepts: both are taken as UTF-8 text and validated at the gateway.
    const frames = this.#opts.logFrames === true;
    ws.on('message', (data) => {
      // The gateway may close the channel (its media backend went away) while a frame from the client is
      // already on its way here; Channel.send throws then, and a throw in a ws listener ends the hub.
      if (channel.state === 'closed') return;
      const text = data.toString();
      if (frames) log.debug('client → gateway', { frame: text.slice(0, MAX_LOGGED_FRAME_CHARS) });
      try {
        channel.send(text);
      } catch (err) {
        log.debug('kurento frame dropped: channel closed', { err });
      }
    });
    channel.on('message', (text) => {
      if (frames) log.debug('gateway → client', { frame: text.slice(0, MAX_LOGGED_FRAME_CHARS) });
      if (ws.readyState === ws.OPEN) ws.send(text);
    });
    ws.on('error', (err) => log.debug('kurento client connection error', { err }));
    ws.on('close', () => {
      this.#links.delete(link);
      if (channel.state !== 'closed') channel.close(1000, 'kurento client disconnected');
    });
    channel.on('close', ({ code, reason }) => {
      this.#links.delete(link);
      // The gateway refusing the channel (its own channel limit: 1008) must leave a trace at the hub too.
      if (code === CHANNEL_CLOSE.LIMIT) log.warn('kurento connection refused by the gateway', { code, reason });
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)
        ws.close(code >= 4000 || code === 1000 || code === CHANNEL_CLOSE.LIMIT ? code : 1011, reason.slice(0, 120));
    });
  }

  close(): void {
    for (const { ws, channel } of this.#links) {
      ws.terminate();
      if (channel.state !== 'closed') channel.close(1001, 'hub shutting down');
    }
    this.#links.clear();
    this.#talkTickets.clear();
    this.#wss.close();
  }
}

function reject(socket: Duplex, status: number, text: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
