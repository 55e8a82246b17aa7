/**
 * Sign-in rate limits: attempts per client address and failures per user name,
 * each in a sliding window. Both matter: per address stops one client trying
 * many names, per user stops many addresses (a botnet) guessing one password.
 * Bounded in memory: the least recently used keys are forgotten first.
 */

export interface LoginLimiterOptions {
  /** Sign-in attempts one address may make per window. */
  maxAttemptsPerIp?: number;
  /** Failed sign-ins one user name may have per window, from anywhere. */
  maxFailuresPerUser?: number;
  /** The sliding window (ms). */
  windowMs?: number;
  /** Most addresses and names tracked. */
  maxTracked?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_LOGIN_LIMITER_OPTIONS = {
  maxAttemptsPerIp: 10,
  maxFailuresPerUser: 5,
  windowMs: 15 * 60 * 1000, // 15 min
  maxTracked: 10_000,
} as const;

export type LoginDecision = { ok: true } | { ok: false; scope: 'ip' | 'user'; retryAfterS: number };

class Window {
  readonly #hits = new Map<string, number[]>();
  constructor(
    readonly max: number,
    readonly windowMs: number,
    readonly maxTracked: number,
    readonly now: () => number,
  ) {}

  #recent(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.#hits.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.#hits.delete(key);
    return list;
  }

  /** Seconds until `key` may try again; 0 when it may now. */
  retryAfterS(key: string): number {
    const list = this.#recent(key);
    if (list.length < this.max) return 0;
    return Math.max(1, Math.ceil((list[list.length - this.max]! + this.windowMs - this.now()) / 1000));
  }

  hit(key: string): void {
    const list = this.#recent(key);
    list.push(this.now());
    if (list.length > this.max) list.splice(0, list.length - this.max);
    this.#hits.delete(key); // re-insert: Map order doubles as least-recently-used order
    this.#hits.set(key, list);
    while (this.#hits.size > this.maxTracked) {
      const oldest = this.#hits.keys().next().value;
      if (oldest === undefined) break;
      this.#hits.delete(oldest);
    }
  }

  clear(key: string): void {
    this.#hits.delete(key);
  }
}

export class LoginLimiter {
  readonly #ip: Window;
  readonly #user: Window;

  constructor(opts: LoginLimiterOptions = {}) {
    const o = { ...DEFAULT_LOGIN_LIMITER_OPTIONS, ...opts };
    for (const name of ['maxAttemptsPerIp', 'maxFailuresPerUser', 'windowMs', 'maxTracked'] as const) {
      const v = o[name];
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
        throw new TypeError(`LoginLimiter option ${name}: ${String(v)} is not allowed (a positive integer)`);
      }
      if (v < 1) throw new RangeError(`LoginLimiter option ${name}: ${v} is not allowed (>= 1)`);
    }
    const now = o.now ?? Date.now;
    this.#ip = new Window(o.maxAttemptsPerIp, o.windowMs, o.maxTracked, now);
    this.#user = new Window(o.maxFailuresPerUser, o.windowMs, o.maxTracked, now);
  }

  /** Whether a sign-in from `ip` as `user` may be checked now; counts the attempt against `ip` when it may. */
  attempt(ip: string, user: string): LoginDecision {
    const ipWait = this.#ip.retryAfterS(ip);
    if (ipWait > 0) return { ok: false, scope: 'ip', retryAfterS: ipWait };
    const userWait = this.#user.retryAfterS(user);
    if (userWait > 0) return { ok: false, scope: 'user', retryAfterS: userWait };
    this.#ip.hit(ip);
    return { ok: true };
  }

  /** Records a wrong password for `user`. */
  failed(user: string): void {
    this.#user.hit(user);
  }

  /** A right password clears the user's failures (the address keeps its count). */
  succeeded(user: string): void {
    this.#user.clear(user);
  }
}
