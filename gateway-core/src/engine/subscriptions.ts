import { randomUUID } from 'node:crypto';

export interface Subscription {
  readonly id: string;
  readonly sessionId: string;
  readonly objectId: string;
  readonly type: string;
}

/** Event subscriptions, indexed by object so raising an event costs one lookup. */
export class SubscriptionTable {
  readonly #byObject = new Map<string, Map<string, Subscription>>();
  readonly #countBySession = new Map<string, number>();

  add(sessionId: string, objectId: string, type: string): Subscription {
    const sub: Subscription = { id: randomUUID(), sessionId, objectId, type };
    let m = this.#byObject.get(objectId);
    if (!m) this.#byObject.set(objectId, (m = new Map()));
    m.set(sub.id, sub);
    this.#countBySession.set(sessionId, this.countFor(sessionId) + 1);
    return sub;
  }

  /** Removes a subscription; unknown ids are ignored, as KMS does. */
  remove(sessionId: string, objectId: string, id: string): void {
    const m = this.#byObject.get(objectId);
    const sub = m?.get(id);
    if (!m || !sub || sub.sessionId !== sessionId) return;
    m.delete(id);
    if (m.size === 0) this.#byObject.delete(objectId);
    this.#dec(sessionId);
  }

  forObject(objectId: string): Iterable<Subscription> {
    return this.#byObject.get(objectId)?.values() ?? [];
  }

  dropObject(objectId: string): void {
    const m = this.#byObject.get(objectId);
    if (!m) return;
    for (const sub of m.values()) this.#dec(sub.sessionId);
    this.#byObject.delete(objectId);
  }

  dropSession(sessionId: string): void {
    for (const [objectId, m] of this.#byObject) {
      for (const [id, sub] of m) if (sub.sessionId === sessionId) m.delete(id);
      if (m.size === 0) this.#byObject.delete(objectId);
    }
    this.#countBySession.delete(sessionId);
  }

  countFor(sessionId: string): number {
    return this.#countBySession.get(sessionId) ?? 0;
  }

  #dec(sessionId: string): void {
    const n = this.countFor(sessionId) - 1;
    if (n <= 0) this.#countBySession.delete(sessionId);
    else this.#countBySession.set(sessionId, n);
  }
}
