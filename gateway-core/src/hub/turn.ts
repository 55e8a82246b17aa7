/**
 * Time-limited TURN credentials from a secret shared with the TURN server.
 *
 * The scheme is the one of draft-uberti-behave-turn-rest-00 ("A REST API For
 * Access To TURN Services", §2.2) that coturn implements as `use-auth-secret` +
 * `static-auth-secret` (coturn README.turnserver, "TURN REST API"):
 *
 *   username   = `<expiry as unix time in seconds>:<user id>`
 *   credential = base64(HMAC-SHA1(secret, username))
 *
 * The TURN server recomputes the HMAC from the username it receives, and
 * refuses (401) a username whose timestamp is in the past. The credential is
 * then used as the ordinary long-term password (RFC 8489 §9.2, RFC 8656 §9).
 * Nothing else is stored anywhere: the hub and coturn share the secret only.
 */
import { createHmac } from 'node:crypto';
import { isIP } from 'node:net';

/** A STUN/TURN server as the W3C `RTCIceServer` describes it (what a browser's RTCPeerConnection takes). */
export interface TurnIceServer {
  urls: string[];
  username: string;
  credential: string;
}

export interface TurnOptions {
  /**
   * TURN server URLs handed to browsers and the media backend, `turn:host:port`,
   * `turn:host:port?transport=udp|tcp` or `turns:host:port` (RFC 7065 §3).
   */
  urls: string[];
  /**
   * coturn's `static-auth-secret`. Never logged, never sent anywhere: only
   * HMACs of it leave the hub. At least 16 characters, because anyone holding
   * one minted credential can test guesses of the secret offline.
   */
  secret: string;
  /**
   * Lifetime of a minted credential in seconds. coturn checks the expiry on
   * every authenticated request, allocation refreshes included, so a viewing
   * session longer than this loses its relay: keep it above the longest
   * session you expect.
   */
  ttlSeconds?: number;
}

export const DEFAULT_TURN_OPTIONS = {
  ttlSeconds: 86_400, // 24 h: the draft's recommended lifetime (§2.2)
} as const;

/** Bounds on `ttlSeconds`: one minute to seven days. */
const MIN_TTL_SECONDS = 60; // 1 min: shorter would expire before ICE completes on a slow link
const MAX_TTL_SECONDS = 7 * 86_400; // 7 d: a leaked credential should not outlive a week
const MIN_SECRET_CHARS = 16;
/** coturn's `rest-api-separator` default; a user id containing it would shift the timestamp field. */
const SEPARATOR = ':';
const USER_ID = /^[\x21-\x39\x3b-\x3f\x41-\x7e]{1,128}$/; // printable ASCII without ':' (0x3a), '@' (0x40), space

/** Credentials for one user, as the browser and the media backend get them. */
export interface TurnCredentials {
  urls: string[];
  /** `<expiresAt>:<user>` */
  username: string;
  /** base64(HMAC-SHA1(secret, username)) — a password for TURN, not the secret. */
  credential: string;
  /** Unix time in seconds after which the TURN server refuses the credential. */
  expiresAt: number;
}

export interface MintTurnCredentialsOptions {
  secret: string;
  user: string;
  urls: string[];
  ttlSeconds?: number;
  /** The current time in ms since the epoch (tests mint expired credentials with a past clock). */
  now?: number;
}

interface ParsedTurnUrl {
  scheme: 'turn' | 'turns';
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | undefined;
}

/** RFC 7065 §3: `turnURI = scheme ":" host [ ":" port ] [ "?transport=" transport ]`. */
const TURN_URI = /^(turns?):(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]{1,253})(?::(\d{1,5}))?(?:\?transport=(udp|tcp))?$/;

/** Parses one TURN URL; throws TypeError naming the option (the value carries no secret). */
export function parseTurnUri(url: unknown, name = 'turn.urls'): ParsedTurnUrl {
  const m = typeof url === 'string' ? TURN_URI.exec(url) : null;
  if (!m) {
    throw new TypeError(
      `${name}: ${JSON.stringify(url)} is not a TURN URL; expected turn:host:port[?transport=udp|tcp] or turns:host:port (RFC 7065)`,
    );
  }
  const scheme = m[1] as 'turn' | 'turns';
  const host = m[2]!;
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  if (host.startsWith('[') && isIP(bare) !== 6) throw new TypeError(`${name}: ${host} is not an IPv6 address`);
  // RFC 7065 §3: 3478 for turn, 5349 for turns.
  const port = m[3] === undefined ? (scheme === 'turns' ? 5349 : 3478) : Number(m[3]);
  if (port < 1 || port > 65_535) throw new RangeError(`${name}: port ${port} of ${url as string} is not 1..65535`);
  return { scheme, host, port, transport: m[4] as 'udp' | 'tcp' | undefined };
}

function checkSecret(secret: unknown, name: string): string {
  if (typeof secret !== 'string') throw new TypeError(`${name} must be a string`);
  // The message never contains the value: only its length.
  if (secret.length < MIN_SECRET_CHARS) {
    throw new RangeError(`${name} must be at least ${MIN_SECRET_CHARS} characters, got ${secret.length}`);
  }
  return secret;
}

function checkTtl(ttl: unknown, name: string): number {
  if (typeof ttl !== 'number' || !Number.isInteger(ttl)) {
    throw new TypeError(`${name} must be an integer number of seconds, got ${String(ttl)}`);
  }
  if (ttl < MIN_TTL_SECONDS || ttl > MAX_TTL_SECONDS) {
    throw new RangeError(`${name} must be ${MIN_TTL_SECONDS}..${MAX_TTL_SECONDS} seconds, got ${ttl}`);
  }
  return ttl;
}

function checkUrls(urls: unknown, name: string): string[] {
  if (!Array.isArray(urls) || urls.length === 0) {
    throw new TypeError(`${name} must be a non-empty array of TURN URLs, got ${JSON.stringify(urls)}`);
  }
  urls.forEach((u, i) => parseTurnUri(u, `${name}[${i}]`));
  return [...(urls as string[])];
}

function checkUser(user: unknown): string {
  if (typeof user !== 'string' || !USER_ID.test(user)) {
    throw new TypeError(
      `TURN user id must be 1..128 printable ASCII characters without ':', '@' or spaces, got ${JSON.stringify(user)}`,
    );
  }
  return user;
}

/**
 * Mints credentials for `user` valid for `ttlSeconds` from `now`.
 * draft-uberti-behave-turn-rest-00 §2.2; coturn `use-auth-secret`.
 */
export function mintTurnCredentials(opts: MintTurnCredentialsOptions): TurnCredentials {
  if (opts === null || typeof opts !== 'object') throw new TypeError('mintTurnCredentials: options must be an object');
  const secret = checkSecret(opts.secret, 'mintTurnCredentials: secret');
  const user = checkUser(opts.user);
  const urls = checkUrls(opts.urls, 'mintTurnCredentials: urls');
  const ttl = checkTtl(opts.ttlSeconds ?? DEFAULT_TURN_OPTIONS.ttlSeconds, 'mintTurnCredentials: ttlSeconds');
  const now = opts.now ?? Date.now();
  if (typeof now !== 'number' || !Number.isFinite(now) || now < 0) {
    throw new TypeError(`mintTurnCredentials: now must be a time in ms since the epoch, got ${String(now)}`);
  }
  const expiresAt = Math.floor(now / 1000) + ttl;
  const username = `${expiresAt}${SEPARATOR}${user}`;
  const credential = createHmac('sha1', secret).update(username, 'utf8').digest('base64');
  return { urls, username, credential, expiresAt };
}

/** What a browser's `RTCPeerConnection({ iceServers })` takes. */
export function turnIceServers(creds: TurnCredentials): TurnIceServer[] {
  return [{ urls: [...creds.urls], username: creds.username, credential: creds.credential }];
}

/**
 * The `turnUrl` a Kurento WebRtcEndpoint takes (`setTurnUrl`,
 * elements.kmd.json): `user:password@address:port[?transport=udp|tcp|tls]`,
 * for the first URL (KMS uses one TURN server). The username contains ':'
 * (`expiry:user`); KMS, and our engine, split at the last ':' before '@', and
 * a base64 credential never contains ':' or '@'.
 */
export function kurentoTurnUrl(creds: TurnCredentials): string {
  const t = parseTurnUri(creds.urls[0], 'kurentoTurnUrl: urls[0]');
  const transport = t.scheme === 'turns' ? 'tls' : t.transport;
  return `${creds.username}:${creds.credential}@${t.host}:${t.port}${transport ? `?transport=${transport}` : ''}`;
}

/**
 * The hub's TURN credential source, validated once. The secret lives in a
 * private field, so it does not show in `JSON.stringify`, `util.inspect` or a
 * logged object.
 */
export class TurnCredentialMinter {
  readonly urls: readonly string[];
  readonly ttlSeconds: number;
  readonly #secret: string;

  constructor(opts: TurnOptions) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('hub option turn must be an object');
    this.#secret = checkSecret(opts.secret, 'hub option turn.secret');
    this.urls = Object.freeze(checkUrls(opts.urls, 'hub option turn.urls'));
    this.ttlSeconds = checkTtl(opts.ttlSeconds ?? DEFAULT_TURN_OPTIONS.ttlSeconds, 'hub option turn.ttlSeconds');
  }

  /** Fresh credentials for `user` (a hub user name or a session id; no ':' or '@'). */
  mint(user: string, now: number = Date.now()): TurnCredentials {
    return mintTurnCredentials({ secret: this.#secret, user, urls: [...this.urls], ttlSeconds: this.ttlSeconds, now });
  }

  /** The browser's `iceServers` for `user`. */
  iceServersFor(user: string): TurnIceServer[] {
    return turnIceServers(this.mint(user));
  }

  /** The media backend's `setTurnUrl` value for `user` (same lifetime as the browser's). */
  kurentoTurnUrlFor(user: string): string {
    return kurentoTurnUrl(this.mint(user));
  }

  toJSON(): { urls: string[]; ttlSeconds: number } {
    return { urls: [...this.urls], ttlSeconds: this.ttlSeconds };
  }
}
