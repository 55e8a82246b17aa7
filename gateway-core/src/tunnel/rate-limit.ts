import { addressKey } from '../util/index.js';

/** How long a successful (address, gateway id) pair is remembered as known good. */
const KNOWN_GOOD_MS = 24 * 3_600_000; // 24 h

/**
 * Per-address bookkeeping for the handshake: failed authentications in a
 * sliding window (close 4429 beyond the limit), hellos still pending, and the
 * gateway ids that proved their secret from each address (a blocked address
 * still lets those through, so an attacker sharing the gateway's address or
 * proxy cannot lock it out). Addresses are keyed by `addressKey` (IPv6 by /64).
 * Bounded in size so a flood of source addresses cannot grow it forever.
 */
export class AddressLimiter {
  #failures = new Map<string, number[]>();
  #good = new Map<string, number>();
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
    return this.#recent(addressKey(ip)).length >= this.#maxFailures;
  }

  /** Whether `gatewayId` authenticated from `ip` within the last 24 h. */
  knownGood(ip: string, gatewayId: string): boolean {
    const at = this.#good.get(`${addressKey(ip)}\u0000${gatewayId}`);
    return at !== undefined && this.#now() - at < KNOWN_GOOD_MS;
  }

  recordSuccess(ip: string, gatewayId: string): void {
    const key = `${addressKey(ip)}\u0000${gatewayId}`;
    this.#good.delete(key);
    this.#good.set(key, this.#now());
    while (this.#good.size > this.#maxTracked) {
      const oldest = this.#good.keys().next().value;
      if (oldest === undefined) break;
      this.#good.delete(oldest);
    }
  }

  recordFailure(address: string): void {
    const ip = addressKey(address);
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
  acquirePending(address: string): boolean {
    const ip = addressKey(address);
    const n = this.#pending.get(ip) ?? 0;
    if (n >= this.#maxPending) return false;
    this.#pending.set(ip, n + 1);
    return true;
  }

  releasePending(address: string): void {
    const ip = addressKey(address);
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
