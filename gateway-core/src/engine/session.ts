import { randomUUID } from 'node:crypto';
import { KurentoRpcError } from './errors.js';

/** Where a session's events go: the connection that currently holds it. */
export interface SessionPeer {
  /** Ping interval the client announced (ms), 0 when it announced none. */
  readonly pingIntervalMs: number;
  sendEvent(frame: string): void;
}

/** A client may name its session; KMS ids are UUIDs, anything sane is accepted. */
const SESSION_ID = /^[A-Za-z0-9_.-]{1,128}$/;

/**
 * Keep-alive factor: a client that said it pings every `interval` ms keeps
 * its session for `interval × 3` once disconnected, if that is longer than
 * `sessionGcMs`, so a slow pinger is not collected between two pings.
 */
export const KEEPALIVE_FACTOR = 3;

export class Session {
  readonly id: string;
  peer: SessionPeer | undefined;
  /** Objects this session created; garbage collection releases them. */
  readonly objects = new Set<string>();
  gcTimer: NodeJS.Timeout | undefined;

  constructor(id: string) {
    this.id = id;
  }
}

export interface SessionRegistryOptions {
  sessionGcMs: number;
  maxSessions: number;
  /** Called when a detached session's time is up; must release its objects. */
  onExpire: (session: Session) => void;
}

/**
 * Sessions by id. A connection that drops leaves its session behind; a new
 * connection that names it (`connect {sessionId}` or any request carrying it)
 * takes it over and receives its events. A session without a connection for
 * longer than its keep-alive is expired.
 */
export class SessionRegistry {
  readonly #sessions = new Map<string, Session>();
  readonly #opts: SessionRegistryOptions;

  constructor(opts: SessionRegistryOptions) {
    this.#opts = opts;
  }

  get size(): number {
    return this.#sessions.size;
  }

  ids(): string[] {
    return [...this.#sessions.keys()];
  }

  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  static validId(id: unknown): id is string {
    return typeof id === 'string' && SESSION_ID.test(id);
  }

  /** Returns the session `id` (creating it, as KMS's MediaSet::ref does) or a fresh one. */
  obtain(id?: string): Session {
    if (id !== undefined) {
      const s = this.#sessions.get(id);
      if (s) return s;
    }
    if (this.#sessions.size >= this.#opts.maxSessions) {
      throw new KurentoRpcError('NOT_ENOUGH_RESOURCES', `Too many sessions (limit ${this.#opts.maxSessions})`);
    }
    const s = new Session(id ?? randomUUID());
    this.#sessions.set(s.id, s);
    return s;
  }

  /** Gives the session to `peer` (stopping its expiry) and takes it from any previous holder. */
  attach(session: Session, peer: SessionPeer): void {
    if (session.gcTimer) clearTimeout(session.gcTimer);
    session.gcTimer = undefined;
    session.peer = peer;
  }

  /** `peer` went away: if it still held the session, start the keep-alive countdown. */
  detach(session: Session, peer: SessionPeer): void {
    if (session.peer !== peer || !this.#sessions.has(session.id)) return;
    session.peer = undefined;
    const delay = Math.max(this.#opts.sessionGcMs, peer.pingIntervalMs * KEEPALIVE_FACTOR);
    session.gcTimer = setTimeout(() => {
      session.gcTimer = undefined;
      if (session.peer) return;
      this.#opts.onExpire(session);
    }, delay);
  }

  delete(session: Session): void {
    if (session.gcTimer) clearTimeout(session.gcTimer);
    session.gcTimer = undefined;
    session.peer = undefined;
    this.#sessions.delete(session.id);
  }

  /** Stops every countdown (engine shutdown). */
  clear(): void {
    for (const s of this.#sessions.values()) {
      if (s.gcTimer) clearTimeout(s.gcTimer);
      s.gcTimer = undefined;
    }
    this.#sessions.clear();
  }
}
