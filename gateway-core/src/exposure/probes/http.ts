import type { ProbeEvidence } from '../evidence.js';
import { cleanText, toPrintable } from '../printable.js';
import { certificateFingerprint, certificateSubject, ProbeConnection } from './connection.js';
import { challengeRealm, hostAuthority, parseHead } from './message.js';
import { checkHostPort, connectOrClosed, resolveProbeOptions, type ProbeOptions } from './options.js';

export interface HttpProbeOptions extends ProbeOptions {
  /** Speak TLS first (HTTPS). The certificate is recorded, never verified. */
  tls?: boolean;
}

/**
 * `GET /` (RFC 9110 §9.3.1) with `Connection: close`, read up to `maxBytes`:
 * status, `Server`, the HTML `<title>`, the 401 realm and, over TLS, the
 * certificate subject and SHA-256 fingerprint (the gateway matches on these).
 * The request is written by hand so the read stays bounded whatever the peer
 * sends (Node's HTTP client would buffer an unbounded header block first).
 */
export async function probeHttp(host: string, port: number, options: HttpProbeOptions = {}): Promise<ProbeEvidence> {
  checkHostPort(host, port);
  const o = resolveProbeOptions(options);
  const protocol = options.tls ? 'https' : 'http';
  const conn = await connectOrClosed(host, port, protocol, o, options.tls === true);
  if (!(conn instanceof ProbeConnection)) return conn;
  const at = new Date().toISOString();
  try {
    const facts: Record<string, string | number> = {};
    if (options.tls) {
      const subject = certificateSubject(conn);
      if (subject) facts.certSubject = cleanText(subject);
      const fingerprint = certificateFingerprint(conn);
      if (fingerprint) facts.certFingerprint = fingerprint;
    }
    const authority = hostAuthority(host, port);
    conn.write(
      `GET / HTTP/1.1\r\nHost: ${authority}\r\nUser-Agent: camgate-probe\r\nAccept: text/html\r\nConnection: close\r\n\r\n`,
    );
    // Read until the peer closes, the limit, or a title has been seen.
    const res = await conn.read((buf) => (/<\/title\s*>/i.test(buf.toString('latin1')) ? buf.length : undefined), {
      timeoutMs: o.readTimeoutMs,
      maxBytes: o.maxBytes,
      signal: o.signal,
    });
    const head = parseHead(res.data, 'HTTP');
    if (!head) {
      const ev: ProbeEvidence = {
        host,
        port,
        protocol,
        open: true,
        detail: res.data.length ? 'not an HTTP answer' : `no HTTP answer (${res.end})`,
        facts,
        at,
      };
      if (res.data.length) ev.banner = toPrintable(res.data, o.maxBannerChars);
      return ev;
    }
    facts.status = head.status;
    const body = res.data.subarray(head.headLength).toString('utf8');
    const title = /<title[^>]*>([\s\S]*?)<\/title\s*>/i.exec(body)?.[1];
    if (title !== undefined) facts.title = cleanText(decodeEntities(title));
    if (head.status === 401) {
      const realm = challengeRealm(head.headers.get('www-authenticate'));
      if (realm !== undefined) facts.realm = cleanText(realm);
    }
    const ev: ProbeEvidence = {
      host,
      port,
      protocol,
      open: true,
      detail: `HTTP ${head.status} ${cleanText(head.reason)}`.trim(),
      facts,
      at,
    };
    const server = head.headers.get('server');
    if (server) ev.banner = cleanText(server, o.maxBannerChars);
    return ev;
  } finally {
    conn.close();
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

/** The few HTML entities titles commonly carry; numeric ones within printable range. */
function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,6});/gi, (all, e: string) => {
    if (e[0] === '#') {
      const n = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return n >= 0x20 && n <= 0x10ffff ? String.fromCodePoint(n) : all;
    }
    return ENTITIES[e.toLowerCase()] ?? all;
  });
}
