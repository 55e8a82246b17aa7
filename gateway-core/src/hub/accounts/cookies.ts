/** Cookie parsing and the session cookie (RFC 6265 §4.1, §5.2; SameSite: RFC 6265bis §4.1.2.7). */

/** The session cookie's name. `__Host-` (RFC 6265bis §4.1.3.2) needs Secure, so it is used only over TLS. */
export function sessionCookieName(secure: boolean): string {
  return secure ? '__Host-camgate' : 'camgate';
}

const MAX_COOKIE_HEADER = 8192;

/** Parses a Cookie header into name → value (first occurrence wins); oversized headers give nothing. */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (typeof header !== 'string' || header.length > MAX_COOKIE_HEADER) return out;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    if (!out.has(name)) out.set(name, value);
  }
  return out;
}

/** `Set-Cookie` for a session: HttpOnly, SameSite=Strict, Path=/, Secure over TLS, Max-Age in seconds. */
export function sessionCookie(id: string, opts: { secure: boolean; maxAgeS: number }): string {
  const parts = [`${sessionCookieName(opts.secure)}=${id}`, 'Path=/', 'HttpOnly', 'SameSite=Strict'];
  parts.push(`Max-Age=${Math.max(0, Math.floor(opts.maxAgeS))}`);
  if (opts.secure) parts.push('Secure');
  return parts.join('; ');
}

/** `Set-Cookie` that removes the session cookie. */
export function clearSessionCookie(secure: boolean): string {
  return sessionCookie('', { secure, maxAgeS: 0 });
}
