/**
 * Viewer sign-in sessions, held server-side: the cookie carries only a random
 * token (256 bits), the hub decides when it expires. Kept in SQLite
 * (`node:sqlite`, no dependency) so a hub restart signs no one out; only a
 * SHA-256 of the token is stored, so whoever reads the file cannot replay a
 * cookie from it (OWASP Session Management Cheat Sheet: treat stored session
 * ids like passwords). Bounded: the oldest session is dropped when the store
 * is full. Without a file the database lives in memory (tests, embedding).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, openSync } from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { CamgateError } from '../../util/index.js';
import { loadSqlite } from './sqlite.js';

export interface Session {
  /** The random token the cookie carries (never stored). */
  readonly id: string;
  /** SHA-256 of `id`, hex: what the store keeps and what `onEnd` reports. */
  readonly hash: string;
  readonly user: string;
  readonly createdAt: number;
  /** Epoch ms after which the session is gone, whatever the browser says. */
  readonly expiresAt: number;
}

/** What `onEnd` listeners hear: the token itself is not known after a restart, its hash is. */
export type EndedSession = Omit<Session, 'id'>;

export interface SessionStoreOptions {
  /** SQLite file that keeps sessions across restarts (created mode 0600); in memory when unset. */
  file?: string;
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

/** What a session token looks like: 43 base64url characters (32 bytes). */
const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** Schema version in `PRAGMA user_version`; a file of another version is refused, not guessed at. */
const SCHEMA_VERSION = 1;

interface Row {
  hash: string;
  user: string;
  created_at: number;
  expires_at: number;
}

export class SessionStore {
  readonly #db: DatabaseSync;
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #timer: NodeJS.Timeout;
  readonly #onEnd = new Set<(s: EndedSession) => void>();
  readonly #q: Record<'insert' | 'get' | 'delete' | 'count' | 'oldest' | 'expired', StatementSync>;
  #closed = false;

  constructor(opts: SessionStoreOptions = {}) {
    const o = { ...DEFAULT_SESSION_STORE_OPTIONS, ...opts };
    positiveInt('ttlMs', o.ttlMs);
    positiveInt('maxSessions', o.maxSessions);
    positiveInt('sweepMs', o.sweepMs);
    if (o.file !== undefined && (typeof o.file !== 'string' || o.file === '')) {
      throw new TypeError(`SessionStore option file: ${String(o.file)} is not allowed (a file path)`);
    }
    this.#ttlMs = o.ttlMs;
    this.#max = o.maxSessions;
    this.#now = o.now ?? Date.now;
    this.#db = openDatabase(o.file);
    this.#q = {
      insert: this.#db.prepare('INSERT INTO sessions (hash, user, created_at, expires_at) VALUES (?, ?, ?, ?)'),
      get: this.#db.prepare('SELECT hash, user, created_at, expires_at FROM sessions WHERE hash = ?'),
      delete: this.#db.prepare('DELETE FROM sessions WHERE hash = ? RETURNING hash, user, created_at, expires_at'),
      count: this.#db.prepare('SELECT count(*) AS n FROM sessions'),
      oldest: this.#db.prepare('SELECT hash FROM sessions ORDER BY created_at, rowid LIMIT ?'),
      expired: this.#db.prepare(
        'DELETE FROM sessions WHERE expires_at <= ? RETURNING hash, user, created_at, expires_at',
      ),
    };
    this.sweep(); // what expired while the hub was down
    this.#timer = setInterval(() => this.sweep(), o.sweepMs);
    this.#timer.unref();
  }

  get size(): number {
    return Number((this.#q.count.get() as { n: number | bigint }).n);
  }

  /** Starts a session for `user`. */
  create(user: string): Session {
    const over = this.size - this.#max + 1;
    if (over > 0) for (const r of this.#q.oldest.all(over) as { hash: string }[]) this.#destroyHash(r.hash);
    const now = this.#now();
    const id = randomBytes(32).toString('base64url');
    const session: Session = { id, hash: hashToken(id), user, createdAt: now, expiresAt: now + this.#ttlMs };
    this.#q.insert.run(session.hash, user, now, session.expiresAt);
    return session;
  }

  /** The live session with this token; undefined when unknown, malformed or expired. */
  get(id: string | undefined): Session | undefined {
    if (this.#closed || typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) return undefined;
    const hash = hashToken(id);
    const row = this.#q.get.get(hash) as Row | undefined;
    if (!row) return undefined;
    if (this.#now() >= row.expires_at) {
      this.#destroyHash(hash);
      return undefined;
    }
    return { id, ...fromRow(row) };
  }

  /** Ends a session (sign-out); listeners registered with `onEnd` hear of it. Idempotent. */
  destroy(id: string): void {
    if (this.#closed || typeof id !== 'string' || !SESSION_ID_PATTERN.test(id)) return;
    this.#destroyHash(hashToken(id));
  }

  #destroyHash(hash: string): void {
    const row = this.#q.delete.get(hash) as Row | undefined;
    if (row) this.#ended(row);
  }

  #ended(row: Row): void {
    const s = fromRow(row);
    for (const fn of this.#onEnd) fn(s);
  }

  /** Calls `fn` whenever a session ends (sign-out, expiry, eviction); returns the unsubscribe. */
  onEnd(fn: (s: EndedSession) => void): () => void {
    this.#onEnd.add(fn);
    return () => this.#onEnd.delete(fn);
  }

  /** Drops every expired session. */
  sweep(): void {
    if (this.#closed) return;
    for (const row of this.#q.expired.all(this.#now()) as unknown as Row[]) this.#ended(row);
  }

  /** Stops the sweep timer and closes the database; a file keeps its sessions for the next start. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    this.#onEnd.clear();
    this.#db.close();
  }
}

/** SHA-256 of a 256-bit random token: no salt or stretching needed, the token is not guessable. */
function hashToken(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

function fromRow(r: Row): EndedSession {
  return { hash: r.hash, user: r.user, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) };
}

function openDatabase(file: string | undefined): DatabaseSync {
  const { DatabaseSync } = loadSqlite();
  if (file !== undefined) {
    // Create the file owner-only before SQLite opens it; SQLite gives its journal the same mode.
    closeSync(openSync(file, 'a', 0o600));
    chmodSync(file, 0o600);
  }
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(file ?? ':memory:');
  } catch (err) {
    throw new CamgateError('CAMGATE_SESSIONS_FILE', `${file}: could not open the sessions database`, { cause: err });
  }
  try {
    db.exec('PRAGMA busy_timeout = 2000'); // another process (a hub being replaced) may hold the lock briefly
    const version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
    if (version === 0) {
      db.exec(`CREATE TABLE IF NOT EXISTS sessions (
        hash TEXT PRIMARY KEY NOT NULL,
        user TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX IF NOT EXISTS sessions_expires ON sessions (expires_at);
      CREATE INDEX IF NOT EXISTS sessions_created ON sessions (created_at);
      PRAGMA user_version = ${SCHEMA_VERSION};`);
    } else if (version !== SCHEMA_VERSION) {
      throw new CamgateError(
        'CAMGATE_SESSIONS_FILE',
        `${file}: sessions database version ${version} is not supported (expected ${SCHEMA_VERSION})`,
      );
    }
  } catch (err) {
    db.close();
    if (err instanceof CamgateError) throw err;
    throw new CamgateError('CAMGATE_SESSIONS_FILE', `${file ?? ':memory:'}: not a sessions database`, { cause: err });
  }
  return db;
}

function positiveInt(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) {
    throw new TypeError(`SessionStore option ${name}: ${String(v)} is not allowed (a positive integer)`);
  }
  if (v < 1) throw new RangeError(`SessionStore option ${name}: ${v} is not allowed (>= 1)`);
}
