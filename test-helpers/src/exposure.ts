/**
 * Loopback services for the exposure tests: an RTSP responder (open stream or
 * Digest/Basic auth), an HTTP(S) server, a telnet banner server, a server that
 * accepts and hangs, one that floods binary garbage, and a closed port.
 * Everything listens on 127.0.0.1, port 0, and closes every socket it accepted.
 */
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

export interface TestService {
  port: number;
  close(): Promise<void>;
}

/** Listens a server on 127.0.0.1:0 and returns its port plus a close() that also destroys open sockets. */
export async function serve(server: net.Server): Promise<TestService> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    port,
    close: () =>
      (closed ??= new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      })),
  };
}

/** A port that refuses connections: bound once, then released. */
export async function closedPort(): Promise<number> {
  const s = await serve(net.createServer());
  await s.close();
  return s.port;
}

const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

export interface RtspServerOptions {
  mode: 'open' | 'digest' | 'basic';
  user?: string;
  pass?: string;
  realm?: string;
  server?: string;
}

export const TEST_SDP =
  'v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=cam\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n';

/** An RTSP responder (RFC 2326): OPTIONS 200; DESCRIBE 200+SDP when open or authorised, else 401. */
export async function startRtspServer(
  o: RtspServerOptions,
): Promise<TestService & { requests: string[]; authAttempts: () => number }> {
  const requests: string[] = [];
  let attempts = 0;
  const realm = o.realm ?? 'IP Camera(12345)';
  const nonce = randomBytes(8).toString('hex');
  const authorised = (method: string, auth: string | undefined): boolean => {
    if (o.mode === 'open') return true;
    if (!auth) return false;
    attempts++;
    if (o.mode === 'basic') return auth === `Basic ${Buffer.from(`${o.user}:${o.pass}`).toString('base64')}`;
    const f = Object.fromEntries([...auth.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1], m[2]]));
    const ha1 = md5(`${f.username}:${realm}:${o.pass}`);
    const ha2 = md5(`${method}:${f.uri}`);
    const expect = f.qop ? md5(`${ha1}:${nonce}:${f.nc}:${f.cnonce}:${f.qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
    return f.username === o.user && f.nonce === nonce && f.response === expect;
  };
  const server = net.createServer((sock) => {
    let buf = '';
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const req = buf.slice(0, i);
        buf = buf.slice(i + 4);
        requests.push(req);
        const [line = '', ...hdrs] = req.split('\r\n');
        const method = line.split(' ')[0] ?? '';
        const h = new Map(
          hdrs.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const cseq = h.get('cseq') ?? '0';
        const srv = `Server: ${o.server ?? 'TestCam RTSP/1.0'}\r\n`;
        if (method === 'OPTIONS') {
          sock.write(
            `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${srv}Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n`,
          );
        } else if (method === 'DESCRIBE' && authorised(method, h.get('authorization'))) {
          sock.write(
            `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\n${srv}Content-Type: application/sdp\r\nContent-Length: ${TEST_SDP.length}\r\n\r\n${TEST_SDP}`,
          );
        } else if (method === 'DESCRIBE') {
          const challenge =
            o.mode === 'basic' ? `Basic realm="${realm}"` : `Digest realm="${realm}", nonce="${nonce}", qop="auth"`;
          sock.write(`RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\n${srv}WWW-Authenticate: ${challenge}\r\n\r\n`);
        } else {
          sock.write(`RTSP/1.0 405 Method Not Allowed\r\nCSeq: ${cseq}\r\n\r\n`);
        }
      }
    });
  });
  return { ...(await serve(server)), requests, authAttempts: () => attempts };
}

export interface HttpServerOptions {
  server?: string;
  title?: string;
  basic?: { user: string; pass: string };
  /** Serve HTTPS with a throw-away self-signed certificate for this CN. */
  tlsCommonName?: string;
}

/** An HTTP(S) server answering every path with a titled page, optionally behind Basic auth (RFC 7617). */
export async function startHttpServer(
  o: HttpServerOptions = {},
): Promise<TestService & { authAttempts: () => number }> {
  let attempts = 0;
  const handler: http.RequestListener = (req, res) => {
    res.setHeader('Server', o.server ?? 'TestCam-Web/2.0');
    if (o.basic) {
      const auth = req.headers.authorization;
      if (auth) attempts++;
      if (auth !== `Basic ${Buffer.from(`${o.basic.user}:${o.basic.pass}`).toString('base64')}`) {
        res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="TestCam"' });
        res.end('no');
        return;
      }
    }
    res.setHeader('Content-Type', 'text/html');
    res.end(`<!doctype html><html><head><title>${o.title ?? 'Camera &amp; Web'}</title></head><body>hi</body></html>`);
  };
  const server = o.tlsCommonName
    ? https.createServer(await selfSigned(o.tlsCommonName), handler)
    : http.createServer(handler);
  return { ...(await serve(server)), authAttempts: () => attempts };
}

/** A self-signed certificate made by the system openssl in a temporary directory. */
async function selfSigned(cn: string): Promise<{ key: Buffer; cert: Buffer }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'camgate-cert-'));
  try {
    await promisify(execFile)('openssl', [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      path.join(dir, 'k.pem'),
      '-out',
      path.join(dir, 'c.pem'),
      '-days',
      '1',
      '-subj',
      `/CN=${cn}/O=camgate-test`,
    ]);
    return { key: await readFile(path.join(dir, 'k.pem')), cert: await readFile(path.join(dir, 'c.pem')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A telnet server: asks for options (IAC DO TTYPE, IAC WILL ECHO, IAC WILL SGA)
 * then sends `banner` and a login prompt; records every byte the client sends.
 */
export async function startTelnetServer(
  banner = 'BusyBox on camera\r\n',
): Promise<TestService & { received: () => Buffer }> {
  const got: Buffer[] = [];
  const server = net.createServer((sock) => {
    sock.on('data', (d) => got.push(d));
    sock.write(Buffer.from([255, 253, 24, 255, 251, 1, 255, 251, 3]));
    sock.write(`${banner}camera login: `);
  });
  return { ...(await serve(server)), received: () => Buffer.concat(got) };
}

/** Accepts connections and never writes. */
export async function startHangServer(): Promise<TestService> {
  return serve(net.createServer(() => {}));
}

/** Sends `bytes` of random binary, then closes. */
export async function startGarbageServer(bytes = 1024 * 1024): Promise<TestService> {
  const junk = randomBytes(bytes);
  return serve(net.createServer((sock) => sock.end(junk)));
}
