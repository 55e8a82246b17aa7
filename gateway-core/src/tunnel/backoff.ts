import { checkInt, checkNumber } from './options.js';

export interface TunnelBackoffOptions {
  /** First retry delay. */
  initialMs?: number;
  /** Upper bound of any retry delay (jitter included). */
  maxMs?: number;
  /** Growth per failed attempt. */
  factor?: number;
  /** Random spread as a fraction of the delay (0.25 = ±25 %), so many gateways do not return in lockstep. */
  jitter?: number;
  /**
   * After an established tunnel is lost, every retry until it is up again waits a random time drawn
   * uniformly from 0 to this ("full jitter"): a hub restart then sees its homes return spread over this
   * window instead of all within `maxMs` (docs/tunnel.md "Liveness and reconnection"). 0 turns it off.
   */
  reconnectWindowMs?: number;
}

export interface ReplacedBackoffOptions {
  initialMs?: number;
  maxMs?: number;
}

export const DEFAULT_BACKOFF = {
  initialMs: 250, // 250 ms doubling to 2 s, ±25 %
  maxMs: 2_000,
  factor: 2,
  jitter: 0.25,
  reconnectWindowMs: 10_000, // 10 s: 1,000 homes return at ~100/s
} as const;

export const DEFAULT_REPLACED_BACKOFF = { initialMs: 5_000, maxMs: 300_000 } as const; // 5 s doubling to 5 min

/** After this long without a takeover, the next one starts the replaced backoff from `initialMs` again. */
const REPLACED_STREAK_RESET_MS = 3_600_000; // 1 h

/** The largest `Retry-After` (seconds) a hub's busy answer is believed; more is taken as this. */
const MAX_RETRY_AFTER_S = 600;

/**
 * The TunnelClient's retry delays: exponential backoff with jitter for a gateway that has not connected,
 * full jitter over `reconnectWindowMs` after an established tunnel was lost, the hub's `Retry-After`, and
 * the slower takeover (4409) backoff. `random` is injectable so tests can check the delays chosen.
 */
export class ReconnectDelays {
  readonly #b: Required<TunnelBackoffOptions>;
  readonly #replaced: Required<ReplacedBackoffOptions>;
  readonly #random: () => number;
  #attempt = 0;
  #lost = false;
  #takeovers = 0;
  #lastTakeoverAt = 0;

  constructor(
    owner: string,
    backoff: TunnelBackoffOptions | undefined,
    replaced: ReplacedBackoffOptions | undefined,
    random: () => number,
  ) {
    const b = { ...DEFAULT_BACKOFF, ...(backoff ?? {}) };
    this.#b = {
      initialMs: checkInt(owner, 'backoff.initialMs', b.initialMs, 1, 3_600_000),
      maxMs: checkInt(owner, 'backoff.maxMs', b.maxMs, 1, 3_600_000),
      factor: checkNumber(owner, 'backoff.factor', b.factor, 1, 100),
      jitter: checkNumber(owner, 'backoff.jitter', b.jitter, 0, 1),
      reconnectWindowMs: checkInt(owner, 'backoff.reconnectWindowMs', b.reconnectWindowMs, 0, 3_600_000),
    };
    if (this.#b.maxMs < this.#b.initialMs) {
      throw new RangeError(`${owner}: option backoff.maxMs (${b.maxMs}) must be >= backoff.initialMs (${b.initialMs})`);
    }
    const rb = { ...DEFAULT_REPLACED_BACKOFF, ...(replaced ?? {}) };
    this.#replaced = {
      initialMs: checkInt(owner, 'replacedBackoff.initialMs', rb.initialMs, 1, 86_400_000),
      maxMs: checkInt(owner, 'replacedBackoff.maxMs', rb.maxMs, 1, 86_400_000),
    };
    if (this.#replaced.maxMs < this.#replaced.initialMs) {
      throw new RangeError(
        `${owner}: option replacedBackoff.maxMs (${rb.maxMs}) must be >= replacedBackoff.initialMs (${rb.initialMs})`,
      );
    }
    if (typeof random !== 'function') throw new TypeError(`${owner}: option random must be a function () => number`);
    this.#random = random;
  }

  /** The tunnel is up: the next failure starts from the beginning. */
  connected(): void {
    this.#attempt = 0;
    this.#lost = false;
  }

  /** An established tunnel went down: retries are spread over the reconnect window until it is up again. */
  lost(): void {
    this.#lost = true;
  }

  /** The delay before the next attempt after an ordinary failure. */
  next(): number {
    const { initialMs, maxMs, factor, jitter, reconnectWindowMs } = this.#b;
    if (this.#lost && reconnectWindowMs > 0) return Math.round(this.#draw() * reconnectWindowMs);
    const base = Math.min(maxMs, initialMs * factor ** Math.min(this.#attempt, 64));
    this.#attempt++;
    const spread = 1 + jitter * (2 * this.#draw() - 1);
    return Math.max(1, Math.min(maxMs, Math.round(base * spread)));
  }

  /** The hub said it is busy and to come back after `seconds`: a random time between that and twice that. */
  retryAfter(seconds: number): number {
    const ms = Math.min(seconds, MAX_RETRY_AFTER_S) * 1000;
    return Math.max(1, Math.round(ms * (1 + this.#draw())));
  }

  /** 4409: `initialMs`, doubling with each takeover in a row (reset after an hour without one), up to `maxMs`. */
  replaced(now: number): { delayMs: number; takeovers: number } {
    if (now - this.#lastTakeoverAt > REPLACED_STREAK_RESET_MS) this.#takeovers = 0;
    this.#lastTakeoverAt = now;
    const { initialMs, maxMs } = this.#replaced;
    const base = Math.min(maxMs, initialMs * 2 ** Math.min(this.#takeovers, 32));
    this.#takeovers++;
    const spread = 1 + this.#b.jitter * (2 * this.#draw() - 1);
    return { delayMs: Math.max(1, Math.min(maxMs, Math.round(base * spread))), takeovers: this.#takeovers };
  }

  /** One draw in [0, 1) from the injected source (a broken source falls back to Math.random). */
  #draw(): number {
    const r = this.#random();
    return typeof r === 'number' && r >= 0 && r < 1 ? r : Math.random();
  }
}

/**
 * The delay-seconds form of a `Retry-After` header (RFC 9110 §10.2.3), or undefined when absent or not
 * 1-6 digits. The HTTP-date form is not used by hubs and is ignored.
 */
export function parseRetryAfter(value: string | string[] | undefined): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,6}$/.test(value.trim())) return undefined;
  return Number(value.trim());
}
