/**
 * Failures per key with exponential backoff: the first `free` failures cost
 * nothing, each later one doubles the wait before the next try, up to
 * `maxDelayMs`; a key forgets its failures `forgetAfterMs` after the last one.
 * A real user who mistypes waits a second or two; a guesser is slowed to a few
 * tries an hour. Bounded: the least recently failed keys are forgotten first.
 */

export interface BackoffOptions {
  /** Failures that cost no wait. */
  free: number;
  /** Wait after the first failure beyond `free` (ms); doubles with each further failure. */
  baseDelayMs: number;
  /** Longest wait (ms). */
  maxDelayMs: number;
  /** Failures are forgotten this long after the last one (ms). */
  forgetAfterMs: number;
  /** Most keys tracked. */
  maxTracked: number;
  now: () => number;
}

interface Entry {
  failures: number;
  last: number;
}

export class Backoff {
  readonly #o: BackoffOptions;
  readonly #map = new Map<string, Entry>();

  constructor(o: BackoffOptions) {
    this.#o = o;
  }

  get size(): number {
    return this.#map.size;
  }

  #entry(key: string): Entry | undefined {
    const e = this.#map.get(key);
    if (e && this.#o.now() - e.last >= this.#o.forgetAfterMs) {
      this.#map.delete(key);
      return undefined;
    }
    return e;
  }

  /** Failures counted for `key` now. */
  failures(key: string): number {
    return this.#entry(key)?.failures ?? 0;
  }

  /** Milliseconds before `key` may try again; 0 when it may now. */
  waitMs(key: string): number {
    const e = this.#entry(key);
    if (!e || e.failures < this.#o.free) return 0;
    const steps = Math.min(e.failures - this.#o.free, 30);
    const delay = Math.min(this.#o.maxDelayMs, this.#o.baseDelayMs * 2 ** steps);
    return Math.max(0, e.last + delay - this.#o.now());
  }

  fail(key: string): void {
    const e = this.#entry(key) ?? { failures: 0, last: 0 };
    e.failures++;
    e.last = this.#o.now();
    this.#map.delete(key); // re-insert: Map order doubles as least-recently-failed order
    this.#map.set(key, e);
    while (this.#map.size > this.#o.maxTracked) {
      const oldest = this.#map.keys().next().value;
      if (oldest === undefined) break;
      this.#map.delete(oldest);
    }
  }

  clear(key: string): void {
    this.#map.delete(key);
  }
}
