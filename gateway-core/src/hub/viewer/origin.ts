/**
 * CSRF defence for state-changing requests and the WebSocket upgrade: the
 * browser's `Origin` (RFC 6454 §7, sent on every POST and WebSocket handshake,
 * RFC 6455 §4.1) must be the hub's own origin or one configured. SameSite=Strict
 * cookies are the first line; this is the second, and the only one for
 * WebSockets, which SameSite does not cover in every browser.
 */
import type { IncomingMessage } from 'node:http';

/** The origin this request was addressed to: scheme from the hub's TLS setting, host from `Host`. */
export function ownOrigin(req: IncomingMessage, secure: boolean): string | undefined {
  const host = req.headers.host;
  if (typeof host !== 'string' || !/^[A-Za-z0-9.:[\]-]{1,261}$/.test(host)) return undefined;
  return `${secure ? 'https' : 'http'}://${host.toLowerCase()}`;
}

/** True when the request carries an `Origin` that is the hub's own or in `allowed`. A missing Origin fails. */
export function originAllowed(req: IncomingMessage, secure: boolean, allowed: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null' || origin.length > 300) return false;
  const o = origin.toLowerCase();
  return o === ownOrigin(req, secure) || allowed.includes(o);
}
