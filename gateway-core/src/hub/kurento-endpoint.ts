import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Channel, TunnelServer } from '../tunnel/index.js';
import type { Logger } from '../util/index.js';

export interface KurentoEndpointOptions {
  tunnels: TunnelServer;
  logger: Logger;
  /** Largest Kurento message accepted from a client. */
  maxMessageBytes: number;
}

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

  constructor(opts: KurentoEndpointOptions) {
    this.#opts = opts;
    this.#wss = new WebSocketServer({ noServer: true, maxPayload: opts.maxMessageBytes });
  }

  /** Number of Kurento connections relayed right now. */
  get connections(): number {
    return this.#links.size;
  }

  /** Routes an HTTP upgrade; answers 404 for other paths and 503 when the gateway is offline. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const match = PATH.exec(path);
    if (!match?.[1])
      return reject(socket, 404, 'Not Found', 'no Kurento endpoint at this path; use /kurento/GATEWAY_ID');
    const peer = this.#opts.tunnels.peer(match[1]);
    if (!peer || !peer.online)
      return reject(socket, 503, 'Service Unavailable', `gateway ${match[1]} is not connected`);
    let channel: Channel;
    try {
      channel = peer.openChannel({ kind: 'kurento' });
    } catch (err) {
      return reject(socket, 503, 'Service Unavailable', (err as Error).message);
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
    ws.on('message', (data) => {
      // The gateway may close the channel (its media backend went away) while a frame from the client is
      // already on its way here; Channel.send throws then, and a throw in a ws listener ends the hub.
      if (channel.state === 'closed') return;
      try {
        channel.send(data.toString());
      } catch (err) {
        log.debug('kurento frame dropped: channel closed', { err });
      }
    });
    channel.on('message', (text) => {
      if (ws.readyState === ws.OPEN) ws.send(text);
    });
    ws.on('error', (err) => log.debug('kurento client connection error', { err }));
    ws.on('close', () => {
      this.#links.delete(link);
      if (channel.state !== 'closed') channel.close(1000, 'kurento client disconnected');
    });
    channel.on('close', ({ code, reason }) => {
      this.#links.delete(link);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING)
        ws.close(code >= 4000 || code === 1000 ? code : 1011, reason.slice(0, 120));
    });
  }

  close(): void {
    for (const { ws, channel } of this.#links) {
      ws.terminate();
      if (channel.state !== 'closed') channel.close(1001, 'hub shutting down');
    }
    this.#links.clear();
    this.#wss.close();
  }
}

function reject(socket: Duplex, status: number, text: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\nContent-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
