/**
 * HTTP Digest authentication as RTSP servers use it (RFC 2326 §9.2 borrows
 * HTTP's): MD5, `qop=auth` offered (RFC 7616 §3.4), and the older RFC 2069
 * form without qop still accepted, because GStreamer's rtspsrc (and so
 * Kurento) and many camera clients answer that way.
 *
 * Nonces are stateless: `<hex time>.<HMAC(time)>` under a per-server random
 * key, valid for `nonceLifetimeMs`; an expired but authentic nonce gets a
 * fresh challenge with `stale=true` (RFC 7616 §3.3).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface DigestCredentials {
  username: string;
  password: string;
}

export type DigestResult = { ok: true } | { ok: false; stale: boolean };

const md5 = (s: string): string => createHash('md5').update(s, 'utf8').digest('hex');

/** Parses `Digest a=b, c="d"` into lower-cased keys; undefined when it is not Digest or is malformed. */
export function parseDigestHeader(value: string): Map<string, string> | undefined {
  const m = /^Digest\s+/i.exec(value);
  if (!m || value.length > 4096) return undefined;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  re.lastIndex = m[0].length;
  while (re.lastIndex < value.length) {
    const start = re.lastIndex;
    const p = re.exec(value);
    if (!p || re.lastIndex === start) return undefined;
    const key = p[1]!.toLowerCase();
    if (!params.has(key)) params.set(key, p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? ''));
    if (params.size > 32) return undefined;
  }
  return params;
}

export class DigestAuthenticator {
  readonly realm: string;
  readonly #creds: DigestCredentials;
  readonly #key = randomBytes(32);
  readonly #lifetimeMs: number;
  readonly #now: () => number;

  constructor(creds: DigestCredentials, opts: { realm?: string; nonceLifetimeMs?: number; now?: () => number } = {}) {
    this.#creds = creds;
    this.realm = opts.realm ?? 'IP Camera';
    this.#lifetimeMs = opts.nonceLifetimeMs ?? 300_000; // 5 min
    this.#now = opts.now ?? Date.now;
  }

  #sign(ts: string): string {
    return createHmac('sha256', this.#key).update(ts).digest('hex').slice(0, 32);
  }

  newNonce(): string {
    const ts = this.#now().toString(16);
    return `${ts}.${this.#sign(ts)}`;
  }

  /** The WWW-Authenticate header value of a 401 (RFC 7616 §3.3). */
  challenge(stale = false): string {
    return (
      `Digest realm="${this.realm}", nonce="${this.newNonce()}", algorithm=MD5, qop="auth"` +
      (stale ? ', stale=true' : '')
    );
  }

  /** Checks an Authorization header for `method`. Never throws on hostile input. */
  verify(authorization: string | undefined, method: string): DigestResult {
    if (!authorization) return { ok: false, stale: false };
    const p = parseDigestHeader(authorization);
    if (!p) return { ok: false, stale: false };
    const username = p.get('username');
    const nonce = p.get('nonce');
    const uri = p.get('uri');
    const response = p.get('response');
    const realm = p.get('realm');
    if (username === undefined || nonce === undefined || uri === undefined || response === undefined) {
      return { ok: false, stale: false };
    }
    const alg = p.get('algorithm');
    if (alg !== undefined && alg.toUpperCase() !== 'MD5') return { ok: false, stale: false };
    if (realm !== this.realm) return { ok: false, stale: false };
    const dot = nonce.indexOf('.');
    const ts = nonce.slice(0, dot);
    if (dot <= 0 || !/^[0-9a-f]{1,13}$/.test(ts) || !safeEqual(nonce.slice(dot + 1), this.#sign(ts))) {
      return { ok: false, stale: false };
    }
    // RFC 7616 §3.4.1: response = KD(H(A1), nonce:nc:cnonce:qop:H(A2)); RFC 2069: KD(H(A1), nonce:H(A2)).
    const ha1 = md5(`${username}:${this.realm}:${this.#creds.password}`);
    const ha2 = md5(`${method}:${uri}`);
    const qop = p.get('qop');
    let expected: string;
    if (qop === undefined) {
      expected = md5(`${ha1}:${nonce}:${ha2}`);
    } else if (qop === 'auth') {
      const nc = p.get('nc');
      const cnonce = p.get('cnonce');
      if (nc === undefined || cnonce === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return { ok: false, stale: false };
      expected = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
    } else {
      return { ok: false, stale: false };
    }
    const good = safeEqual(username, this.#creds.username) && safeEqual(response.toLowerCase(), expected);
    if (!good) return { ok: false, stale: false };
    if (this.#now() - parseInt(ts, 16) > this.#lifetimeMs) return { ok: false, stale: true };
    return { ok: true };
  }
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** Builds an Authorization header (for tests and tools that talk to the simulator). */
export function digestAuthorization(opts: {
  username: string;
  password: string;
  method: string;
  uri: string;
  challenge: string;
  cnonce?: string;
  nc?: number;
}): string {
  const c = parseDigestHeader(opts.challenge);
  if (!c) throw new TypeError('challenge is not a Digest challenge');
  const realm = c.get('realm') ?? '';
  const nonce = c.get('nonce') ?? '';
  const ha1 = md5(`${opts.username}:${realm}:${opts.password}`);
  const ha2 = md5(`${opts.method}:${opts.uri}`);
  const base = `Digest username="${opts.username}", realm="${realm}", nonce="${nonce}", uri="${opts.uri}"`;
  if (!/\bauth\b/.test(c.get('qop') ?? '')) return `${base}, response="${md5(`${ha1}:${nonce}:${ha2}`)}"`;
  const nc = (opts.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = opts.cnonce ?? randomBytes(8).toString('hex');
  const response = md5(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `${base}, qop=auth, nc=${nc}, cnonce="${cnonce}", response="${response}", algorithm=MD5`;
}
