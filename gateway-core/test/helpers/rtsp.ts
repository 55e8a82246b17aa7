/**
 * A scripted RTSP server on loopback for client tests: each request goes to a
 * handler that decides the answer, so tests can play a good camera, a hostile
 * one or a flaky one byte for byte.
 */
import net from 'node:net';
import { once } from 'node:events';
import { RtspParser, getHeader, serializeInterleaved, serializeResponse } from '../../src/rtsp/rtsp-message.js';
import type { RtspRequest } from '../../src/rtsp/rtsp-message.js';
import { digestResponse, parseWwwAuthenticate } from '../../src/rtsp/digest-auth.js';

export interface ScriptedConnection {
  /** 0 for the first connection the server accepted, 1 for the next… */
  index: number;
  socket: net.Socket;
  respond(req: RtspRequest, status: number, reason: string, headers?: [string, string][], body?: string): void;
  sendRtp(channel: number, packet: Buffer): void;
}

export type ScriptedHandler = (req: RtspRequest, conn: ScriptedConnection) => void;

export interface ScriptedRtspServer {
  port: number;
  requests: { index: number; req: RtspRequest }[];
  /** Interleaved frames the client sent (RFC 2326 §10.12), such as back-channel RTP. */
  interleaved: { index: number; channel: number; data: Buffer }[];
  connections: number;
  url(path: string, user?: string, pass?: string): string;
  close(): Promise<void>;
}

export async function startScriptedRtspServer(handler: ScriptedHandler): Promise<ScriptedRtspServer> {
  const sockets = new Set<net.Socket>();
  const state: ScriptedRtspServer = {
    port: 0,
    requests: [],
    interleaved: [],
    connections: 0,
    url: (path, user, pass) =>
      `rtsp://${user !== undefined ? `${encodeURIComponent(user)}:${encodeURIComponent(pass ?? '')}@` : ''}127.0.0.1:${state.port}${path}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const conn: ScriptedConnection = {
      index: state.connections++,
      socket,
      respond: (req, status, reason, headers = [], body) => {
        const cseq = getHeader(req.headers, 'cseq') ?? '0';
        const b = body === undefined ? undefined : Buffer.from(body);
        if (!socket.destroyed) socket.write(serializeResponse(status, reason, [['CSeq', cseq], ...headers], b));
      },
      sendRtp: (channel, packet) => {
        if (!socket.destroyed) socket.write(serializeInterleaved(channel, packet));
      },
    };
    const parser = new RtspParser();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const f of parser.push(chunk)) {
          if (f.kind === 'interleaved') state.interleaved.push({ index: conn.index, channel: f.channel, data: f.data });
          if (f.kind !== 'request') continue;
          state.requests.push({ index: conn.index, req: f });
          handler(f, conn);
        }
      } catch {
        socket.destroy();
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  state.port = (server.address() as net.AddressInfo).port;
  return state;
}

/** Checks a Digest Authorization header as a camera would (RFC 2617 §3.2.2). */
export function verifyDigest(req: RtspRequest, username: string, password: string, nonce: string): boolean {
  const header = getHeader(req.headers, 'authorization');
  if (!header) return false;
  const [auth] = parseWwwAuthenticate([header]);
  if (!auth || auth.scheme !== 'Digest' || auth.params.get('username') !== username) return false;
  if (auth.params.get('nonce') !== nonce || auth.params.get('uri') !== req.uri) return false;
  const p = auth.params;
  const qop = p.get('qop');
  const expected = digestResponse({
    username,
    password,
    method: req.method,
    uri: req.uri,
    challenge: {
      scheme: 'Digest',
      params: new Map([
        ['realm', p.get('realm') ?? ''],
        ['nonce', nonce],
      ]),
    },
    nc: parseInt(p.get('nc') ?? '1', 16),
    cnonce: p.get('cnonce') ?? '',
    ...(qop === 'auth' ? { qop: 'auth' as const } : {}),
  });
  return expected === p.get('response');
}
