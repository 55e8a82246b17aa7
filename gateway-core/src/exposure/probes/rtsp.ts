import type { ProbeEvidence } from '../evidence.js';
import { cleanText, toPrintable } from '../printable.js';
import { ProbeConnection } from './connection.js';
import { challengeRealm, challengeScheme, hostAuthority, parseHead, responseComplete } from './message.js';
import { checkHostPort, connectOrClosed, resolveProbeOptions, type ProbeOptions } from './options.js';

export interface RtspProbeOptions extends ProbeOptions {
  /** Path requested by DESCRIBE (`/` by default; cameras often answer on any path). */
  path?: string;
}

/**
 * RTSP without credentials (RFC 2326 §10.1 OPTIONS, §10.2 DESCRIBE): does the
 * camera stream to anyone? DESCRIBE 200 with an SDP body = open stream; 401 =
 * needs auth (the realm and Server are recorded). No credentials are ever sent.
 */
export async function probeRtsp(host: string, port: number, options: RtspProbeOptions = {}): Promise<ProbeEvidence> {
  checkHostPort(host, port);
  const o = resolveProbeOptions(options);
  const path = options.path ?? '/';
  if (!/^\/[\x21-\x7e]*$/.test(path))
    throw new TypeError(`path must start with "/" and be printable ASCII, got ${JSON.stringify(path)}`);
  const conn = await connectOrClosed(host, port, 'rtsp', o);
  if (!(conn instanceof ProbeConnection)) return conn;
  const at = new Date().toISOString();
  const authority = hostAuthority(host, port);
  const url = `rtsp://${authority}${path}`;
  const read = (): ReturnType<ProbeConnection['read']> =>
    conn.read(responseComplete('RTSP', o.maxBytes), {
      timeoutMs: o.readTimeoutMs,
      maxBytes: o.maxBytes,
      signal: o.signal,
    });
  try {
    conn.write(`OPTIONS ${url} RTSP/1.0\r\nCSeq: 1\r\nUser-Agent: camgate-probe\r\n\r\n`);
    const opt = await read();
    const optHead = parseHead(opt.data, 'RTSP');
    if (!optHead) {
      return {
        host,
        port,
        protocol: 'rtsp',
        open: true,
        detail: opt.data.length ? 'not an RTSP answer' : `no RTSP answer (${opt.end})`,
        ...(opt.data.length ? { banner: toPrintable(opt.data, o.maxBannerChars) } : {}),
        at,
      };
    }
    const facts: Record<string, string | number> = { optionsStatus: optHead.status };
    const server = optHead.headers.get('server');
    const pub = optHead.headers.get('public');
    if (pub) facts.public = cleanText(pub);

    conn.write(`DESCRIBE ${url} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: camgate-probe\r\n\r\n`);
    const desc = await read();
    const head = parseHead(desc.data, 'RTSP');
    let detail: string;
    const serverHeader = head?.headers.get('server') ?? server;
    if (!head) {
      detail = `RTSP server; DESCRIBE unanswered (${desc.end})`;
    } else {
      facts.describeStatus = head.status;
      const type = head.headers.get('content-type') ?? '';
      const body = desc.data.subarray(head.headLength).toString('latin1');
      if (head.status === 200 && /application\/sdp/i.test(type) && /^v=0/m.test(body)) {
        detail = 'open stream: DESCRIBE without credentials returned an SDP';
        const media = body.match(/^m=[^\r\n]*/gm);
        if (media) facts.media = cleanText(media.join(' | '));
      } else if (head.status === 401) {
        detail = 'authentication required';
        const challenge = head.headers.get('www-authenticate');
        const realm = challengeRealm(challenge);
        const scheme = challengeScheme(challenge);
        if (realm !== undefined) facts.realm = cleanText(realm);
        if (scheme) facts.authScheme = cleanText(scheme);
      } else {
        detail = `DESCRIBE answered ${head.status} ${cleanText(head.reason)}`;
      }
    }
    const ev: ProbeEvidence = { host, port, protocol: 'rtsp', open: true, detail, facts, at };
    if (serverHeader) ev.banner = cleanText(serverHeader, o.maxBannerChars);
    return ev;
  } finally {
    conn.close();
  }
}
