/**
 * HTTP authentication as RTSP uses it (RFC 2326 §D.2 refers to RFC 2617):
 * Basic (RFC 7617) and Digest (RFC 2617 §3, RFC 7616) with MD5, MD5-sess,
 * SHA-256 and SHA-256-sess, qop=auth or no qop.
 *
 * The one implementation of the Digest computation and of the header syntax
 * in camgate: the RTSP client answers challenges with it, the simulated
 * camera checks credentials with it (its nonces stay its own), and the LAN
 * audit's default-credential check builds its Authorization with it.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface AuthChallenge {
  scheme: string;
  /** Lower-cased parameter names; values unquoted. */
  params: Map<string, string>;
}

const MAX_CHALLENGE_CHARS = 4096; // a real challenge is ~200 characters

/**
 * Parses WWW-Authenticate values (RFC 7235 §4.1). One value may hold several
 * challenges (`Digest realm="a", nonce="b", Basic realm="a"`); a malformed
 * value yields what could be read before the fault.
 */
export function parseWwwAuthenticate(values: readonly string[]): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  for (const value of values) {
    const s = value.slice(0, MAX_CHALLENGE_CHARS);
    let i = 0;
    let current: AuthChallenge | undefined;
    const skipWs = (): void => {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === ',')) i++;
    };
    while (i < s.length) {
      skipWs();
      const tok = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(s.slice(i));
      if (!tok) break;
      i += tok[0].length;
      while (s[i] === ' ' || s[i] === '\t') i++;
      if (s[i] !== '=') {
        // A token not followed by '=' starts a new challenge.
        current = { scheme: tok[0], params: new Map() };
        out.push(current);
        continue;
      }
      i++; // '='
      while (s[i] === ' ' || s[i] === '\t') i++;
      let val = '';
      if (s[i] === '"') {
        i++;
        while (i < s.length && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < s.length) i++;
          val += s[i];
          i++;
        }
        if (s[i] !== '"') break; // unterminated quoted string
        i++;
      } else {
        const m = /^[^,\s]*/.exec(s.slice(i))!;
        val = m[0];
        i += val.length;
      }
      if (!current) break; // parameters before any scheme: not a challenge
      current.params.set(tok[0].toLowerCase(), val);
    }
  }
  return out;
}

/** `Basic base64(user:pass)` (RFC 7617 §2). */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

const MAX_CREDENTIALS_CHARS = 4096; // a real header is ~300 characters
const MAX_CREDENTIALS_PARAMS = 32; // RFC 7616 §3.4 defines 11

/**
 * Parses the credentials of an `Authorization: Digest …` header (RFC 7616
 * §3.4, RFC 7235 §4.2) into lower-cased keys, values unquoted. Unlike
 * parseWwwAuthenticate, which reads what it can of a server's challenges, a
 * server must not guess at a client's credentials: anything that is not
 * Digest, is malformed, longer than 4096 characters or has more than 32
 * parameters yields undefined. A repeated parameter keeps its first value.
 */
export function parseDigestCredentials(value: string): Map<string, string> | undefined {
  const m = /^Digest\s+/i.exec(value);
  if (!m || value.length > MAX_CREDENTIALS_CHARS) return undefined;
  const params = new Map<string, string>();
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)/y;
  re.lastIndex = m[0].length;
  while (re.lastIndex < value.length) {
    const start = re.lastIndex;
    const p = re.exec(value);
    if (!p || re.lastIndex === start) return undefined;
    const key = p[1]!.toLowerCase();
    if (!params.has(key)) params.set(key, p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? ''));
    if (params.size > MAX_CREDENTIALS_PARAMS) return undefined;
  }
  return params;
}

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';
const ALGORITHMS: Record<string, DigestAlgorithm> = {
  md5: 'MD5',
  'md5-sess': 'MD5-sess',
  'sha-256': 'SHA-256',
  'sha-256-sess': 'SHA-256-sess',
};

/** The algorithm a Digest challenge asks for, or undefined when we cannot do it (e.g. SHA-512-256). */
export function digestAlgorithm(challenge: AuthChallenge): DigestAlgorithm | undefined {
  const a = challenge.params.get('algorithm');
  return a === undefined ? 'MD5' : ALGORITHMS[a.toLowerCase()];
}

export interface DigestInput {
  username: string;
  password: string;
  method: string;
  /** The request URI exactly as sent on the request line. */
  uri: string;
  challenge: AuthChallenge;
  /** Nonce count, 1 for the first request with this nonce (RFC 2617 §3.2.2). */
  nc?: number;
  /** Client nonce; random when omitted (tests pass a fixed one). */
  cnonce?: string;
}

function hash(alg: DigestAlgorithm, s: string): string {
  return createHash(alg.startsWith('SHA-256') ? 'sha256' : 'md5')
    .update(s, 'utf8')
    .digest('hex');
}

/** Escapes a value for a quoted-string (RFC 7230 §3.2.6). */
function quote(s: string): string {
  return `"${s.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** Everything the `response` value depends on, as both sides know it. */
export interface DigestResponseParams {
  algorithm: DigestAlgorithm;
  username: string;
  password: string;
  realm: string;
  nonce: string;
  method: string;
  /** The request URI exactly as sent (the `uri` parameter). */
  uri: string;
  /** `auth`, or undefined for the RFC 2069 form without qop. */
  qop?: 'auth';
  /** Nonce count exactly as on the wire (8 hex digits); with qop only. */
  nc?: string;
  /** Client nonce; with qop, and for the -sess algorithms. */
  cnonce?: string;
}

/**
 * The `response` value of RFC 2617 §3.2.2.1 (and RFC 7616 §3.4.1): a client
 * sends it, a server recomputes it from the parameters it received.
 */
export function computeDigestResponse(p: DigestResponseParams): string {
  const alg = p.algorithm;
  let ha1 = hash(alg, `${p.username}:${p.realm}:${p.password}`);
  if (alg.endsWith('-sess')) ha1 = hash(alg, `${ha1}:${p.nonce}:${p.cnonce ?? ''}`); // RFC 7616 §3.4.2
  const ha2 = hash(alg, `${p.method}:${p.uri}`);
  if (p.qop) return hash(alg, `${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:${p.qop}:${ha2}`);
  return hash(alg, `${ha1}:${p.nonce}:${ha2}`); // RFC 2069 compatibility: no qop
}

/** The `response` value answering `input.challenge` (RFC 2617 §3.2.2.1, RFC 7616 §3.4.1). */
export function digestResponse(input: DigestInput & { qop?: 'auth'; nc: number; cnonce: string }): string {
  const alg = digestAlgorithm(input.challenge);
  if (!alg) throw new TypeError('unsupported digest algorithm');
  return computeDigestResponse({
    algorithm: alg,
    username: input.username,
    password: input.password,
    realm: input.challenge.params.get('realm') ?? '',
    nonce: input.challenge.params.get('nonce') ?? '',
    method: input.method,
    uri: input.uri,
    nc: formatNc(input.nc),
    cnonce: input.cnonce,
    ...(input.qop ? { qop: input.qop } : {}),
  });
}

/** nc-value = 8LHEX (RFC 2617 §3.2.2). */
function formatNc(nc: number): string {
  return nc.toString(16).padStart(8, '0');
}

/**
 * The Authorization header value answering a Digest challenge. Uses qop=auth
 * when the server offers it; auth-int alone is not supported (undefined).
 */
export function digestAuthorization(input: DigestInput): string | undefined {
  const alg = digestAlgorithm(input.challenge);
  if (!alg) return undefined;
  const qopOffer = input.challenge.params.get('qop');
  const offers = qopOffer?.split(',').map((q) => q.trim().toLowerCase());
  if (offers && !offers.includes('auth')) return undefined;
  const qop = offers ? ('auth' as const) : undefined;
  const nc = input.nc ?? 1;
  const cnonce = input.cnonce ?? randomBytes(8).toString('hex');
  const response = digestResponse({ ...input, nc, cnonce, ...(qop ? { qop } : {}) });
  const p = input.challenge.params;
  const parts = [
    `username=${quote(input.username)}`,
    `realm=${quote(p.get('realm') ?? '')}`,
    `nonce=${quote(p.get('nonce') ?? '')}`,
    `uri=${quote(input.uri)}`,
    `response=${quote(response)}`,
  ];
  if (p.has('algorithm')) parts.push(`algorithm=${alg}`);
  if (p.has('opaque')) parts.push(`opaque=${quote(p.get('opaque')!)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${formatNc(nc)}`, `cnonce=${quote(cnonce)}`);
  return `Digest ${parts.join(', ')}`;
}

/**
 * Picks the challenge to answer: the strongest Digest we support (SHA-256
 * before MD5), else Basic. Undefined when nothing usable was offered.
 */
export function chooseChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | undefined {
  const digests = challenges.filter((c) => c.scheme.toLowerCase() === 'digest' && digestAlgorithm(c) !== undefined);
  const usable = digests.filter((c) => {
    const q = c.params.get('qop');
    return q === undefined || q.split(',').some((x) => x.trim().toLowerCase() === 'auth');
  });
  const sha = usable.find((c) => digestAlgorithm(c)!.startsWith('SHA-256'));
  return sha ?? usable[0] ?? challenges.find((c) => c.scheme.toLowerCase() === 'basic');
}
