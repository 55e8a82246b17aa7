/**
 * Just enough of the RTSP/HTTP message syntax to read one response from a
 * stranger: RFC 2326 §7 (RTSP response) shares HTTP/1.1's shape (RFC 9112 §4):
 * a status line, header fields, an empty line, then Content-Length bytes.
 */

/** `host:port` for a request line or Host header, IPv6 literals in brackets (RFC 3986 §3.2.2). */
export function hostAuthority(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export interface ResponseHead {
  protocol: string;
  status: number;
  reason: string;
  /** Lower-cased names; repeated fields joined with ", " (RFC 9110 §5.3). */
  headers: Map<string, string>;
  /** Length of status line + headers + the empty line, in bytes. */
  headLength: number;
}

/** Most header fields we keep from one response (the rest are ignored). */
const MAX_FIELDS = 100;

/** Index just past the blank line that ends the head, or undefined if not yet there. */
export function findHeadEnd(buf: Buffer): number | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return crlf + 4;
  if (lf >= 0) return lf + 2;
  return undefined;
}

/** Parses the head of `buf`; undefined when incomplete or not a `protocol` response. */
export function parseHead(buf: Buffer, protocol: 'RTSP' | 'HTTP'): ResponseHead | undefined {
  const end = findHeadEnd(buf);
  if (end === undefined) return undefined;
  const lines = buf.subarray(0, end).toString('latin1').split(/\r?\n/);
  const m = new RegExp(`^(${protocol}/\\d\\.\\d) (\\d{3})(?: (.*))?$`).exec(lines[0] ?? '');
  if (!m) return undefined;
  const headers = new Map<string, string>();
  for (const line of lines.slice(1, MAX_FIELDS + 1)) {
    const i = line.indexOf(':');
    if (i <= 0) continue;
    const name = line.slice(0, i).trim().toLowerCase();
    const value = line.slice(i + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { protocol: m[1] as string, status: Number(m[2]), reason: m[3] ?? '', headers, headLength: end };
}

/**
 * Completion predicate for `ProbeConnection.read`: the head plus its
 * Content-Length body (capped at `maxBody`), or undefined while incomplete.
 * A head that is not a `protocol` response completes at once, so garbage is
 * reported instead of waited on.
 */
export function responseComplete(protocol: 'RTSP' | 'HTTP', maxBody: number) {
  return (buf: Buffer): number | undefined => {
    const end = findHeadEnd(buf);
    if (end === undefined) {
      // Not even the start of a status line: no point waiting for more.
      const prefix = buf.subarray(0, protocol.length + 1).toString('latin1');
      if (buf.length > 0 && !`${protocol}/`.startsWith(prefix)) return buf.length;
      return undefined;
    }
    const head = parseHead(buf, protocol);
    if (!head) return end;
    const len = Number(head.headers.get('content-length') ?? '0');
    const body = Number.isSafeInteger(len) && len > 0 ? Math.min(len, maxBody) : 0;
    return buf.length >= end + body ? end + body : undefined;
  };
}

/** The `realm` parameter of a WWW-Authenticate challenge (RFC 7235 §2.2). */
export function challengeRealm(challenge: string | undefined): string | undefined {
  if (!challenge) return undefined;
  const m = /realm="([^"]*)"/i.exec(challenge) ?? /realm=([^,\s]+)/i.exec(challenge);
  return m?.[1];
}

/** The scheme of a WWW-Authenticate challenge (`Digest`, `Basic`). */
export function challengeScheme(challenge: string | undefined): string | undefined {
  return challenge ? /^\s*([A-Za-z-]+)/.exec(challenge)?.[1] : undefined;
}
