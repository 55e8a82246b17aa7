/**
 * Viewer sign-in sessions, held server-side: the cookie carries only a random
 * id (256 bits), the hub decides when it expires. Bounded: the oldest session
 * is dropped when the store is full.
 */
import { randomBytes } from 'node:crypto';

export interface Session {
  /** The random id the cookie carries. */
  readonly id: string;
  readonly user: string;
  readonly createdAt: number;
  /** Epoch ms after which the session is gone, whatever the browser says. */
  readonly expiresAt: number;
}

export interface SessionStoreOptions {
  /** How long a session lasts after sign-in (ms). */
  ttlMs?: number;
  /** Most sessions held at once; the oldest goes first. */
  maxSessions?: number;
  /** How often expired sessions are swept (ms). */
  sweepMs?: number;
  /** Clock (tests). */
  now?: () => number;
}

export const DEFAULT_SESSION_STORE_OPTIONS = {
  ttlMs: 12 * 60 * 60 * 1000, // 12 h
  maxSessions: 10_000,
  sweepMs: 60_000, // 1 min
} as const;

/** What a session id looks like: 43 base64url characters (32 bytes). */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export class SessionStore {
  readonly #sessions = new Map<string, Session>();
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly #onEnd = new Set<(s: Session) => void>();

  constructor(opts: SessionStoreOptions = {}) {
    const o = { ...DEFAULT_SESSION_STORE_OPTIONS, ...opts };
    positiveInt('ttlMs', o.ttlMs);
    positiveInt('maxSessions', o.maxSessions);
    positiveInt('sweepMs', o.sweepMs);
    this.#ttlMs = o.ttlMs;
    this.#max = o.maxSessions;
    this.#now = o.now ?? Date.now;
    this.#timer = setInterval(() => this.sweep(), o.sweepMs);
    this.#timer.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** Starts a session for `user`. */
  create(user: string): Session {
    while (this.#sessions.size >= this.#max) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.destroy(oldest);
    }
    const now = this.#now();
    const session: Session = {
      id: randomBytes(32).toString('base64url'),
      user,
      createdAt: now,
      expiresAt: now + this.#ttlMs,
    };
    this.#sessions.set(session.id, session);
    return session;
  }

  /** The live session with this id; undefined when unknown, malformed or expired. */
  get(id: string | undefined): Session | undefined {
    if (typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) return undefined;
    const s = this.#sessions.get(id);
    if (!s) return undefined;
    if (this.#now() >= s.expiresAt) {
      this.destroy(id);
      return undefined;
    }
    return s;
  }

  /** Ends a session (sign-out); listeners registered with `onEnd` hear of it. Idempotent. */
  destroy(id: string): void {
    const s = this.#sessions.get(id);
    if (!s) return;
    this.#sessions.delete(id);
    for (const fn of this.#onEnd) fn(s);
  }

  /** Calls `fn` whenever a session ends (sign-out, expiry, eviction); returns the unsubscribe. */
  onEnd(fn: (s: Session) => void): () => void {
    this.#onEnd.add(fn);
    return () => this.#onEnd.delete(fn);
  }

  /** Drops every expired session. */
  sweep(): void {
    const now = this.#now();
    for (const s of [...this.#sessions.values()]) if (now >= s.expiresAt) this.destroy(s.id);
  }

  /** Stops the sweep timer and forgets every session. Idempotent. */
  close(): void {
    clearInterval(this.#timer);
    this.#sessions.clear();
    this.#onEnd.clear();
  }
}

function positiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(`SessionStore option ${name}: ${String(v)} is not allowed (a positive integer)`);
  }
  if (v < 1) throw new RangeError(`SessionStore option ${name}: ${v} is not allowed (>= 1)`);
}
