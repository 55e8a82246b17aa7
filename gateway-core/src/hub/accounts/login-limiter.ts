/**
 * Sign-in throttling that slows a guesser without locking the real user out
 * (an attack run showed that a fixed "5 failures → 15 minutes for everyone" let
 * anyone lock any user out, and counting successful sign-ins locked out every
 * viewer behind one shared address).
 *
 * - Only wrong passwords count; a right one clears that address's failures
 *   for that user.
 * - Per (address, user): after `freeFailuresPerUser` wrong passwords, each
 *   further try from that address for that name waits 1 s, 2 s, 4 s … up to
 *   `maxDelayMs`. Another address — the real user's — is not slowed at all.
 * - Per address (all names): the same backoff after `freeFailuresPerAddress`,
 *   so one address cannot spray many names.
 * - At most `maxConcurrentPerAddress` checks in flight per address, so a burst
 *   sent before any failure is recorded still pays one scrypt at a time.
 *
 * Addresses are keys from `addressKey` (IPv6 by /64) and, behind a trusted
 * proxy, the forwarded client address. What this does not stop: a botnet
 * with many addresses gets `freeFailuresPerUser` free tries per address;
 * strong passwords (generated ones are 144 bits) are the defence there.
 */
import { Backoff } from '../abuse/backoff.js';

export interface LoginLimiterOptions {
  /** Wrong passwords one address may try for one name before backoff starts. */
  freeFailuresPerUser?: number;
  /** Wrong passwords one address may try across all names before backoff starts. */
  freeFailuresPerAddress?: number;
  /** First wait once backoff starts (ms); doubles with each further failure. */
  baseDelayMs?: number;
  /** Longest wait (ms). */
  maxDelayMs?: number;
  /** Failures are forgotten this long after the last one (ms). */
  forgetAfterMs?: number;
  /** Sign-in checks one address may have in flight at once. */
  maxConcurrentPerAddress?: number;
  /** Most addresses and (address, name) pairs tracked. */
  maxTracked?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_LOGIN_LIMITER_OPTIONS = {
  freeFailuresPerUser: 5,
  freeFailuresPerAddress: 20,
  baseDelayMs: 1_000, // 1 s
  maxDelayMs: 15 * 60 * 1000, // 15 min
  forgetAfterMs: 60 * 60 * 1000, // 1 h
  maxConcurrentPerAddress: 2,
  maxTracked: 10_000,
} as const;

export type LoginDecision = { ok: true } | { ok: false; scope: 'ip' | 'user'; retryAfterS: number };

export class LoginLimiter {
  readonly #address: Backoff;
  readonly #pair: Backoff;
  readonly #inFlight = new Map<string, number>();
  readonly #maxConcurrent: number;

  constructor(opts: LoginLimiterOptions = {}) {
    const o = { ...DEFAULT_LOGIN_LIMITER_OPTIONS, ...opts };
    for (const name of Object.keys(DEFAULT_LOGIN_LIMITER_OPTIONS) as (keyof typeof DEFAULT_LOGIN_LIMITER_OPTIONS)[]) {
      const v: unknown = o[name];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw new TypeError(`LoginLimiter option ${name}: ${String(v)} is not allowed (a non-negative integer)`);
      }
      const min = name.startsWith('free') ? 0 : 1;
      if (v < min) throw new RangeError(`LoginLimiter option ${name}: ${v} is not allowed (>= ${min})`);
    }
    const now = o.now ?? Date.now;
    const common = { baseDelayMs: o.baseDelayMs, maxDelayMs: o.maxDelayMs, forgetAfterMs: o.forgetAfterMs, now };
    this.#address = new Backoff({ ...common, free: o.freeFailuresPerAddress, maxTracked: o.maxTracked });
    this.#pair = new Backoff({ ...common, free: o.freeFailuresPerUser, maxTracked: o.maxTracked });
    this.#maxConcurrent = o.maxConcurrentPerAddress;
  }

  /**
   * Whether a sign-in from `address` as `user` may be checked now. When it
   * may, the check is in flight until `failed` or `succeeded` is called.
   */
  attempt(address: string, user: string): LoginDecision {
    const ipWait = this.#address.waitMs(address);
    if (ipWait > 0) return { ok: false, scope: 'ip', retryAfterS: Math.ceil(ipWait / 1000) };
    const userWait = this.#pair.waitMs(pairKey(address, user));
    if (userWait > 0) return { ok: false, scope: 'user', retryAfterS: Math.ceil(userWait / 1000) };
    const n = this.#inFlight.get(address) ?? 0;
    if (n >= this.#maxConcurrent) return { ok: false, scope: 'ip', retryAfterS: 1 };
    this.#inFlight.set(address, n + 1);
    return { ok: true };
  }

  /** Records a wrong password from `address` for `user` and ends its check. */
  failed(address: string, user: string): void {
    this.#release(address);
    this.#address.fail(address);
    this.#pair.fail(pairKey(address, user));
  }

  /** A right password: ends the check and clears this address's failures for this user. */
  succeeded(address: string, user: string): void {
    this.#release(address);
    this.#pair.clear(pairKey(address, user));
  }

  /** Ends a check that reached no verdict (the users file was unreadable…). */
  abandoned(address: string): void {
    this.#release(address);
  }

  #release(address: string): void {
    const n = (this.#inFlight.get(address) ?? 0) - 1;
    if (n > 0) this.#inFlight.set(address, n);
    else this.#inFlight.delete(address);
  }
}

function pairKey(address: string, user: string): string {
  return `${address}\u0000${user}`;
}
