/**
 * Who may use `/api/`, and what failing costs. One scrypt at most per request
 * (api-tokens.ts), and three limits so failures cannot burn the hub's CPU:
 *
 * - per client address: `freeFailures` failures, then exponential backoff
 *   (429 with Retry-After, no scrypt while waiting);
 * - per client address: at most `maxConcurrentKdf` scrypt checks in flight,
 *   so a burst sent before any failure is recorded cannot fan out, and at
 *   most `maxConcurrentKdfTotal` from all addresses together, so the
 *   threadpool that sign-ins share always has room;
 * - per token id, from every address together: `freeFailuresPerToken`
 *   wrong secrets, then backoff for addresses that have not used this token
 *   successfully within 24 h — an attacker spread over many addresses who
 *   knows an id (ids show in configs and logs) is bounded, while the client
 *   that really holds the token keeps working from where it always does.
 */
import type { IncomingMessage } from 'node:http';
import { normalizeAddress, type Logger } from '../util/index.js';
import { Backoff } from './abuse/backoff.js';
import { API_TOKEN_PATTERN, ApiTokenVerifier } from './api-tokens.js';

export interface ApiAuthLimits {
  /** Failed authentications a client address may make before it must wait. */
  freeFailures?: number;
  /** Wrong secrets for one token id, from all addresses together, before unfamiliar addresses must wait. */
  freeFailuresPerToken?: number;
  /** First wait (ms); doubles with each further failure. */
  baseDelayMs?: number;
  /** Longest wait (ms). */
  maxDelayMs?: number;
  /** Failures are forgotten this long after the last one (ms). */
  forgetAfterMs?: number;
  /** Token checks that need a scrypt one client address may have in flight at once. */
  maxConcurrentKdf?: number;
  /**
   * Token checks that need a scrypt in flight at once, all addresses together: scrypt runs in libuv's
   * threadpool (4 threads by default), which sign-ins share, so API floods must leave it room.
   */
  maxConcurrentKdfTotal?: number;
}

export const DEFAULT_API_AUTH_LIMITS = {
  freeFailures: 10,
  freeFailuresPerToken: 20,
  baseDelayMs: 1_000, // 1 s
  maxDelayMs: 5 * 60 * 1000, // 5 min
  forgetAfterMs: 15 * 60 * 1000, // 15 min
  maxConcurrentKdf: 2,
  maxConcurrentKdfTotal: 2,
} as const;

/** How long an (address, token id) pair that authenticated stays familiar. */
const FAMILIAR_MS = 24 * 3_600_000; // 24 h
const MAX_TRACKED = 10_000;

export type ApiAuthResult = true | { retryAfterS?: number };

export class ApiAuthGuard {
  readonly #tokens: ApiTokenVerifier;
  readonly #perAddress: Backoff;
  readonly #perToken: Backoff;
  readonly #familiar = new Map<string, number>();
  readonly #inFlight = new Map<string, number>();
  readonly #maxConcurrent: number;
  readonly #maxConcurrentTotal: number;
  #inFlightTotal = 0;
  readonly #clientKey: (req: IncomingMessage) => string;
  readonly #log: Logger | undefined;

  constructor(
    stored: readonly string[],
    limits: ApiAuthLimits = {},
    clientKey?: (req: IncomingMessage) => string,
    log?: Logger,
  ) {
    this.#tokens = new ApiTokenVerifier(stored);
    const l = { ...DEFAULT_API_AUTH_LIMITS, ...limits };
    for (const [name, v] of Object.entries(l)) {
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw new TypeError(`hub option apiAuthLimits.${name}: ${String(v)} is not allowed (an integer)`);
      }
      const min = name.startsWith('free') ? 0 : 1;
      if (v < min) throw new RangeError(`hub option apiAuthLimits.${name}: ${v} is not allowed (>= ${min})`);
    }
    const common = { ...l, maxTracked: MAX_TRACKED, now: Date.now };
    this.#perAddress = new Backoff({ ...common, free: l.freeFailures });
    this.#perToken = new Backoff({ ...common, free: l.freeFailuresPerToken });
    this.#maxConcurrent = l.maxConcurrentKdf;
    this.#maxConcurrentTotal = l.maxConcurrentKdfTotal;
    this.#clientKey = clientKey ?? ((req) => normalizeAddress(req.socket.remoteAddress));
    this.#log = log;
  }

  /** scrypt runs so far (tests count them: at most one per request). */
  get kdfRuns(): number {
    return this.#tokens.kdfRuns;
  }

  /** true, or why not: `retryAfterS` means 429 (wait), none means 401 (wrong or missing token). */
  async authorize(req: IncomingMessage): Promise<ApiAuthResult> {
    const key = this.#clientKey(req);
    const wait = this.#perAddress.waitMs(key);
    if (wait > 0) return { retryAfterS: Math.ceil(wait / 1000) };
    const m = /^Bearer ([\x21-\x7e]{1,256})$/.exec(req.headers.authorization ?? '');
    const token = m?.[1] ?? '';
    const id = API_TOKEN_PATTERN.exec(token)?.[1];
    const kdf = this.#tokens.needsKdf(token);
    if (kdf && id !== undefined) {
      const idWait = this.#perToken.waitMs(id);
      if (idWait > 0 && !this.#isFamiliar(key, id)) return { retryAfterS: Math.ceil(idWait / 1000) };
      const n = this.#inFlight.get(key) ?? 0;
      if (n >= this.#maxConcurrent || this.#inFlightTotal >= this.#maxConcurrentTotal) return { retryAfterS: 1 };
      this.#inFlight.set(key, n + 1);
      this.#inFlightTotal++;
    }
    let result;
    try {
      result = await this.#tokens.check(token);
    } finally {
      if (kdf) {
        this.#inFlightTotal--;
        const n = (this.#inFlight.get(key) ?? 1) - 1;
        if (n > 0) this.#inFlight.set(key, n);
        else this.#inFlight.delete(key);
      }
    }
    if (result === 'ok') {
      if (id !== undefined) this.#remember(key, id);
      return true;
    }
    this.#perAddress.fail(key);
    if (result === 'wrong-secret' && id !== undefined) this.#perToken.fail(id);
    // The token is never logged; its id is not secret and tells the operator which one is being tried.
    this.#log?.info('API authentication failed', { client: key, why: result, tokenId: id });
    return {};
  }

  #isFamiliar(key: string, id: string): boolean {
    const at = this.#familiar.get(`${key}\u0000${id}`);
    return at !== undefined && Date.now() - at < FAMILIAR_MS;
  }

  #remember(key: string, id: string): void {
    const k = `${key}\u0000${id}`;
    this.#familiar.delete(k);
    this.#familiar.set(k, Date.now());
    while (this.#familiar.size > MAX_TRACKED) {
      const oldest = this.#familiar.keys().next().value;
      if (oldest === undefined) break;
      this.#familiar.delete(oldest);
    }
  }
}
