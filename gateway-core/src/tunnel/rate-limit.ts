/**
 * Per-address bookkeeping for the handshake: failed authentications in a
 * sliding window (close 4429 beyond the limit) and hellos still pending.
 * Bounded in size so a flood of source addresses cannot grow it forever.
 */
export class AddressLimiter {
  #failures = new Map<string, number[]>();
  #pending = new Map<string, number>();
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxPending: number;
  readonly #maxTracked: number;
  readonly #now: () => number;

  constructor(opts: {
    maxFailures: number;
    windowMs: number;
    maxPending: number;
    maxTracked?: number;
    now?: () => number;
  }) {
    this.#maxFailures = opts.maxFailures;
    this.#windowMs = opts.windowMs;
    this.#maxPending = opts.maxPending;
    this.#maxTracked = opts.maxTracked ?? 10_000;
    this.#now = opts.now ?? Date.now;
  }

  /** True when `ip` has failed authentication too often within the window. */
  blocked(ip: string): boolean {
    return this.#recent(ip).length >= this.#maxFailures;
  }

  recordFailure(ip: string): void {
    const list = this.#recent(ip);
    list.push(this.#now());
    this.#failures.delete(ip); // re-insert: Map order doubles as least-recently-failed eviction order
    this.#failures.set(ip, list);
    while (this.#failures.size > this.#maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest === undefined) break;
      this.#failures.delete(oldest);
    }
  }

  /** Reserves a pending-hello slot; false when `ip` already has the maximum. */
  acquirePending(ip: string): boolean {
    const n = this.#pending.get(ip) ?? 0;
    if (n >= this.#maxPending) return false;
    this.#pending.set(ip, n + 1);
    return true;
  }

  releasePending(ip: string): void {
    const n = (this.#pending.get(ip) ?? 0) - 1;
    if (n > 0) this.#pending.set(ip, n);
    else this.#pending.delete(ip);
  }

  #recent(ip: string): number[] {
    const list = this.#failures.get(ip);
    if (!list) return [];
    const cutoff = this.#now() - this.#windowMs;
    const kept = list.filter((t) => t > cutoff);
    if (kept.length === 0) this.#failures.delete(ip);
    else this.#failures.set(ip, kept);
    return kept;
  }
}
