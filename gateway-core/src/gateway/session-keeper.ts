import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import type { Logger } from '../util/index.js';

/** What the keeper needs from a relayed session to release it later. */
export interface KeptSession {
  sessionId: string;
  /** Ids the session created and still owns, pipelines first. */
  ownedObjects(): string[];
}

export interface SessionKeeperOptions {
  /** Media backend URL (KMS or the built-in engine). */
  backendUrl: string;
  /** How long a session with no viewer connection keeps its objects. */
  graceMs: number;
  /** How long one release round may take before the connection is dropped. */
  releaseTimeoutMs: number;
  logger: Logger;
}

interface Entry {
  session: KeptSession;
  attached: Set<object>;
  timer: NodeJS.Timeout | undefined;
  /** The last backend connection of the session, kept open during the grace period. */
  lingering: WebSocket | undefined;
}

/**
 * Releases what a vanished viewer left behind. Kurento sessions outlive their
 * connections on purpose (a reconnecting `kurento-client` resumes its session
 * with `connect`), so a closed channel does not mean an abandoned session. A
 * session with no attached channel for `graceMs` is abandoned: its objects are
 * released on the media backend so no pipeline leaks.
 */
export class SessionKeeper extends EventEmitter<{ released: [{ sessionId: string; objects: number }] }> {
  readonly #opts: SessionKeeperOptions;
  readonly #entries = new Map<string, Entry>();
  #closed = false;

  constructor(opts: SessionKeeperOptions) {
    super();
    this.#opts = opts;
  }

  /** A channel now carries `session` (after its first response named the session, or a resume). */
  attach(session: KeptSession, holder: object): void {
    let entry = this.#entries.get(session.sessionId);
    if (!entry) {
      entry = { session, attached: new Set(), timer: undefined, lingering: undefined };
      this.#entries.set(session.sessionId, entry);
    }
    entry.session = session;
    entry.attached.add(holder);
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    // A resumed session has a fresh backend connection; the old one has served its purpose.
    entry.lingering?.close();
    entry.lingering = undefined;
  }

  /** The channel `holder` is gone; `backend` is its backend connection, kept for the grace period. */
  detach(sessionId: string, holder: object, backend: WebSocket | undefined): void {
    const entry = this.#entries.get(sessionId);
    if (!entry || !entry.attached.delete(holder)) {
      backend?.close();
      return;
    }
    if (entry.attached.size > 0 || this.#closed) {
      backend?.close();
      return;
    }
    entry.lingering?.close();
    entry.lingering = backend;
    entry.timer = setTimeout(() => void this.#release(sessionId), this.#opts.graceMs);
    entry.timer.unref();
  }

  /** Sessions currently kept (attached or in their grace period). */
  get size(): number {
    return this.#entries.size;
  }

  /** Releases every session's objects now (gateway shutdown). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#entries.keys()].map((id) => this.#release(id)));
  }

  async #release(sessionId: string): Promise<void> {
    const entry = this.#entries.get(sessionId);
    if (!entry) return;
    this.#entries.delete(sessionId);
    if (entry.timer) clearTimeout(entry.timer);
    const objects = entry.session.ownedObjects();
    const log = this.#opts.logger;
    try {
      if (objects.length > 0) await this.#releaseObjects(sessionId, objects, entry.lingering);
      log.info('released abandoned session', { sessionId, objects: objects.length });
      this.emit('released', { sessionId, objects: objects.length });
    } catch (err) {
      log.warn('could not release abandoned session', { sessionId, err });
    } finally {
      entry.lingering?.close();
    }
  }

  /** Opens (or reuses) a backend connection and releases `objects` in order, awaiting each answer. */
  async #releaseObjects(sessionId: string, objects: string[], lingering: WebSocket | undefined): Promise<void> {
    const ws =
      lingering && lingering.readyState === WebSocket.OPEN
        ? lingering
        : new WebSocket(this.#opts.backendUrl, { maxPayload: 1 << 20 });
    // A backend that refuses the connection must not crash the gateway: errors settle the round below.
    ws.on('error', () => undefined);
    const pending = new Map<number, () => void>();
    let nextId = 1;
    const send = (method: string, params: Record<string, unknown>): Promise<void> =>
      new Promise((resolve) => {
        const id = nextId++;
        pending.set(id, resolve);
        ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
      });
    const onMessage = (data: WebSocket.RawData): void => {
      try {
        const msg = JSON.parse(data.toString()) as { id?: unknown };
        if (typeof msg.id === 'number') pending.get(msg.id)?.();
      } catch {
        // Not ours to judge: the release round only waits for its own answers.
      }
    };
    const work = (async () => {
      if (ws.readyState !== WebSocket.OPEN) {
        await new Promise<void>((resolve, reject) => {
          ws.once('open', () => resolve());
          ws.once('error', reject);
        });
        ws.on('message', onMessage);
        await send('connect', { sessionId });
      } else {
        ws.on('message', onMessage);
      }
      // Elements of a released pipeline go with it (Kurento semantics); releasing them again is harmless.
      for (const object of objects) await send('release', { object, sessionId });
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('release timed out')), this.#opts.releaseTimeoutMs);
    });
    try {
      await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
      ws.off('message', onMessage);
      ws.close();
    }
  }
}
