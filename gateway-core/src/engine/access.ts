import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Who may talk to the engine. The engine can play any RTSP URL, holds the
 * camera passwords its gateway gave it and releases anyone's objects, so it
 * trusts only a client that presents its token, and never a web page: a page
 * open in a browser on the same machine could otherwise reach
 * ws://127.0.0.1:8888 (WebSocket is not bound by the same-origin policy;
 * RFC 6455 §10.2 leaves the Origin check to the server).
 */

/** Tokens are URL-safe so they travel unescaped in `?token=` (kurento-client keeps the query of its URL). */
export const ENGINE_TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,256}$/;

/** The query parameter that carries the token: `ws://127.0.0.1:8888/kurento?token=…`. */
export const ENGINE_TOKEN_PARAM = 'token';

/** A new token: 32 random bytes, base64url (43 characters). */
export function generateEngineToken(): string {
  return randomBytes(32).toString('base64url');
}

/** `url` with `?token=` set (replacing one already there). */
export function engineUrlWithToken(url: string, token: string): string {
  const u = new URL(url);
  u.searchParams.set(ENGINE_TOKEN_PARAM, token);
  return u.href;
}

export type AccessVerdict =
  { ok: true } | { ok: false; status: 401 | 403 | 404; reason: 'browser-origin' | 'no-token' | 'wrong-token' | 'path' };

/**
 * Decides one HTTP upgrade. Browsers always send `Origin` on a WebSocket
 * handshake (RFC 6455 §4.1 item 8; the Fetch standard), non-browser clients
 * such as kurento-client on Node and the gateway never do, so any `Origin`
 * is refused, whatever its value.
 */
export class EngineAccess {
  readonly #digest: Buffer;
  readonly #path: string;

  constructor(token: string, path: string) {
    this.#digest = sha256(token);
    this.#path = path;
  }

  check(req: IncomingMessage): AccessVerdict {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://engine.invalid');
    } catch {
      return { ok: false, status: 404, reason: 'path' };
    }
    if (url.pathname !== this.#path) return { ok: false, status: 404, reason: 'path' };
    if (req.headers.origin !== undefined) return { ok: false, status: 403, reason: 'browser-origin' };
    const presented = url.searchParams.getAll(ENGINE_TOKEN_PARAM);
    if (presented.length === 0) return { ok: false, status: 401, reason: 'no-token' };
    // Compare digests, not strings: equal length for timingSafeEqual, and no early exit on the first
    // differing character (a timing oracle on loopback is cheap to exploit).
    if (presented.length !== 1 || !timingSafeEqual(sha256(presented[0]!), this.#digest)) {
      return { ok: false, status: 401, reason: 'wrong-token' };
    }
    return { ok: true };
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}
