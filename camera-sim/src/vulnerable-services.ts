/**
 * The extra services a cheap DVR/camera exposes, so the exposure scanner and
 * the LAN audit have something real to find: an HTTP admin page with a
 * telltale `Server:` header and `<title>`, and a telnet `login:` prompt that
 * never lets anyone in (the Mirai-era pattern, without the hole).
 */
import http from 'node:http';
import net from 'node:net';
import type { Logger } from '@camgate/core';

/** `Server:` header of the many XiongMai-based DVRs, the banner scanners key on. */
export const DVR_SERVER_HEADER = 'uc-httpd 1.0.0';
export const DVR_TITLE = 'NETSurveillance WEB';
export const TELNET_PROMPT = '(none) login: ';

const DVR_PAGE = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${DVR_TITLE}</title></head>
<body><form method="post" action="/login.htm">
<p>User <input name="username"> Password <input name="password" type="password"></p>
<p><input type="submit" value="Login"></p></form></body></html>
`;

const MAX_TELNET_LINE = 256; // bytes: a login name, not a payload
const MAX_TELNET_ATTEMPTS = 3; // then hang up, like busybox login

export interface ServiceHandle {
  port: number;
  close(): Promise<void>;
}

function listen(server: net.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

function closer(server: net.Server, sockets: Set<net.Socket>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    if (!server.listening) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

export async function startDvrHttp(host: string, port: number, logger: Logger): Promise<ServiceHandle> {
  const sockets = new Set<net.Socket>();
  const server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000 }, (req, res) => {
    req.resume(); // bodies are ignored (and bounded by the socket being closed after the reply)
    const path = (req.url ?? '/').split('?')[0];
    res.setHeader('Server', DVR_SERVER_HEADER);
    res.setHeader('Connection', 'close');
    if (req.method === 'GET' && (path === '/' || path === '/index.htm' || path === '/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(DVR_PAGE);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/html' }).end('<html><body>404 Not Found</body></html>\n');
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  server.on('error', (err) => logger.warn('dvr http error', { err }));
  return { port: await listen(server, host, port), close: closer(server, sockets) };
}

export async function startTelnetBanner(host: string, port: number, logger: Logger): Promise<ServiceHandle> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.setTimeout(30_000, () => s.destroy());
    let line = '';
    let attempts = 0;
    let askingPassword = false;
    s.on('data', (chunk: Buffer) => {
      for (const byte of chunk) {
        if (byte === 0xff) continue; // telnet IAC negotiation bytes are ignored, not interpreted
        if (byte !== 0x0a && byte !== 0x0d) {
          line += String.fromCharCode(byte);
          if (line.length > MAX_TELNET_LINE) return void s.destroy();
          continue;
        }
        if (byte === 0x0a) continue;
        line = '';
        if (!askingPassword) {
          askingPassword = true;
          s.write('Password: ');
        } else {
          askingPassword = false;
          if (++attempts >= MAX_TELNET_ATTEMPTS) return void s.end('\r\nLogin incorrect\r\n');
          s.write(`\r\nLogin incorrect\r\n${TELNET_PROMPT}`);
        }
      }
    });
    s.on('error', () => s.destroy());
    s.on('close', () => sockets.delete(s));
    s.write(`\r\n${TELNET_PROMPT}`);
  });
  server.on('error', (err) => logger.warn('telnet banner error', { err }));
  return { port: await listen(server, host, port), close: closer(server, sockets) };
}
