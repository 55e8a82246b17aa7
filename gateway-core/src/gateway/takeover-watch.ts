import { adviceFor, type FlagStore, type FlagTransition } from '../alerts/index.js';
import { TUNNEL_REPLACED_CODE, type TunnelState, type TunnelStateInfo } from '../tunnel/index.js';
import { defaultLogger, type Logger } from '../util/index.js';

/** What the watch listens to: the `Gateway` or its `TunnelClient` (`state` events). */
export interface TunnelStateSource {
  on(e: 'state', fn: (state: TunnelState, info: TunnelStateInfo) => void): unknown;
  off(e: 'state', fn: (state: TunnelState, info: TunnelStateInfo) => void): unknown;
}

export interface TakeoverWatchOptions {
  gatewayId: string;
  /** The store the flag goes to; whatever publishes that store (MQTT, Node-RED, HomeKit) publishes the flag. */
  store: FlagStore;
  tunnel: TunnelStateSource;
  /** How long the gateway must hold its connection again, without a new takeover, before the flag clears. */
  clearAfterMs?: number;
  logger?: Logger;
}

export const DEFAULT_TAKEOVER_WATCH_OPTIONS = {
  // 1 h: long enough that a person sees the flag even when the intruder gave up after one try; an intruder
  // that keeps trying takes the connection again within that hour and raises it anew.
  clearAfterMs: 3_600_000,
} as const;

/**
 * Raises the `secret-in-use` flag when the hub closes this gateway's tunnel
 * with 4409 (another client authenticated with the same secret), and clears
 * it once the gateway has held the connection for `clearAfterMs` in a row.
 */
export class TakeoverWatch {
  readonly #opts: Required<Omit<TakeoverWatchOptions, 'logger'>>;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  readonly #onState = (state: TunnelState, info: TunnelStateInfo): void => this.#state(state, info);

  constructor(opts: TakeoverWatchOptions) {
    if (!opts || typeof opts !== 'object') throw new TypeError('TakeoverWatch options must be an object');
    if (typeof opts.gatewayId !== 'string' || opts.gatewayId === '')
      throw new TypeError('TakeoverWatch option gatewayId must be a non-empty string');
    const clearAfterMs = opts.clearAfterMs ?? DEFAULT_TAKEOVER_WATCH_OPTIONS.clearAfterMs;
    if (!Number.isInteger(clearAfterMs) || clearAfterMs < 1 || clearAfterMs > 30 * 86_400_000)
      throw new RangeError(
        `TakeoverWatch option clearAfterMs must be an integer in [1, 30 days] (ms), got ${String(clearAfterMs)}`,
      );
    this.#opts = { gatewayId: opts.gatewayId, store: opts.store, tunnel: opts.tunnel, clearAfterMs };
    this.#log = opts.logger ?? defaultLogger('gateway:takeover');
    opts.tunnel.on('state', this.#onState);
  }

  /** The raised flag, if any. */
  get raised(): boolean {
    return this.#flag() !== undefined;
  }

  #flag() {
    return this.#opts.store.list({ kind: 'secret-in-use', gatewayId: this.#opts.gatewayId, state: 'raised' })[0];
  }

  #state(state: TunnelState, info: TunnelStateInfo): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (info?.code === TUNNEL_REPLACED_CODE) {
      void this.#opts.store
        .raise({
          kind: 'secret-in-use',
          gatewayId: this.#opts.gatewayId,
          source: 'gateway',
          evidence: [
            {
              host: 'hub',
              protocol: 'camgate-tunnel',
              detail: `the hub closed this gateway's connection with 4409: ${info.reason ?? 'replaced by another connection'}`,
              at: new Date().toISOString(),
            },
          ],
          advice: adviceFor('secret-in-use'),
        })
        .catch((err: unknown) => this.#log.error('could not raise the secret-in-use flag', { err }));
      return;
    }
    if (state === 'connected' && this.#flag()) {
      this.#timer = setTimeout(() => void this.#clear(), this.#opts.clearAfterMs);
      this.#timer.unref();
    }
  }

  async #clear(): Promise<FlagTransition | undefined> {
    this.#timer = undefined;
    const f = this.#flag();
    if (!f || this.#closed) return undefined;
    this.#log.info('connection held again; clearing the secret-in-use flag', { heldMs: this.#opts.clearAfterMs });
    try {
      return await this.#opts.store.apply({ ...f, state: 'cleared', clearedAt: new Date().toISOString() });
    } catch (err) {
      this.#log.error('could not clear the secret-in-use flag', { err });
      return undefined;
    }
  }

  /** Stops listening and clears the timer. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#opts.tunnel.off('state', this.#onState);
  }
}
