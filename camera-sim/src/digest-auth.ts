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
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { computeDigestResponse, parseDigestCredentials } from '@camgate/core/rtsp-wire';

export interface DigestCredentials {
  username: string;
  password: string;
}

export type DigestResult = { ok: true } | { ok: false; stale: boolean };

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
    const p = parseDigestCredentials(authorization);
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
    const base = {
      algorithm: 'MD5',
      username,
      password: this.#creds.password,
      realm: this.realm,
      nonce,
      method,
      uri,
    } as const;
    const qop = p.get('qop');
    let expected: string;
    if (qop === undefined) {
      expected = computeDigestResponse(base);
    } else if (qop === 'auth') {
      const nc = p.get('nc');
      const cnonce = p.get('cnonce');
      if (nc === undefined || cnonce === undefined || !/^[0-9a-fA-F]{8}$/.test(nc)) return { ok: false, stale: false };
      expected = computeDigestResponse({ ...base, qop, nc, cnonce }); // nc hashed exactly as the client sent it
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
