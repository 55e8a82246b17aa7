import { EventEmitter } from 'node:events';
import {
  GATEWAY_FLAG_MESSAGE_LIMITS,
  isGatewayFlagMessage,
  parseGatewayFlagMessage,
  type Flag,
} from '../alerts/index.js';
import type { TunnelPeer, TunnelServer } from '../tunnel/index.js';
import { defaultLogger, type Logger } from '../util/index.js';

export interface GatewayFlagBoardOptions {
  /** Where gateway tunnels arrive; each peer's control messages are read. */
  tunnels: Pick<TunnelServer, 'on' | 'off' | 'peers'>;
  /** Raised flags held per gateway; a message that would hold more is refused. */
  maxFlagsPerGateway?: number;
  logger?: Logger;
}

export const DEFAULT_GATEWAY_FLAG_BOARD_OPTIONS = {
  maxFlagsPerGateway: GATEWAY_FLAG_MESSAGE_LIMITS.snapshotFlags, // flags
} as const;

export interface GatewayFlagBoardEvents {
  /** The raised flags of `gatewayId` changed. */
  change: [{ gatewayId: string }];
  /** A gateway sent a flag message that was refused (it is logged too). */
  rejected: [{ gatewayId: string; reason: string }];
}

/**
 * The hub's copy of each gateway's OWN flags (LAN audit, takeover), as the
 * gateways send them over the tunnel (alerts/flag-messages.ts), for the
 * viewer. Only raised flags are held; a cleared one is dropped. A message is
 * read from the tunnel of the gateway that authenticated, so a gateway can
 * neither set nor clear another gateway's flags, nor pass off a flag as the
 * hub's. Held in memory: the gateways resend their state at every connect.
 */
export class GatewayFlagBoard extends EventEmitter<GatewayFlagBoardEvents> {
  readonly #flags = new Map<string, Map<string, Flag>>();
  readonly #peers = new Map<string, { peer: TunnelPeer; onControl: (m: unknown) => void; onGone: () => void }>();
  readonly #tunnels: GatewayFlagBoardOptions['tunnels'];
  readonly #max: number;
  readonly #log: Logger;
  #closed = false;
  readonly #onPeer = (peer: TunnelPeer): void => this.#watch(peer);

  constructor(opts: GatewayFlagBoardOptions) {
    super();
    if (!opts || typeof opts.tunnels?.on !== 'function')
      throw new TypeError('GatewayFlagBoard option tunnels is required');
    const max = opts.maxFlagsPerGateway ?? DEFAULT_GATEWAY_FLAG_BOARD_OPTIONS.maxFlagsPerGateway;
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`GatewayFlagBoard option maxFlagsPerGateway must be an integer >= 1, got ${String(max)}`);
    this.#max = max;
    this.#tunnels = opts.tunnels;
    this.#log = opts.logger ?? defaultLogger('hub:gateway-flags');
    this.#tunnels.on('peer', this.#onPeer);
    for (const peer of this.#tunnels.peers()) this.#watch(peer);
  }

  /** The raised flags a gateway sent (all gateways when unset); copies. */
  list(gatewayId?: string): Flag[] {
    const maps = gatewayId === undefined ? [...this.#flags.values()] : [this.#flags.get(gatewayId)];
    return maps.flatMap((m) => (m ? [...m.values()].map((f) => structuredClone(f)) : []));
  }

  /**
   * Applies one control message received on the tunnel of `gatewayId`.
   * Returns false for messages of other features (not a flag message) and
   * for refused ones (`rejected` event); never throws.
   */
  apply(gatewayId: string, msg: unknown): boolean {
    if (this.#closed || !isGatewayFlagMessage(msg)) return false;
    try {
      const m = parseGatewayFlagMessage(msg, gatewayId);
      const before = this.#flags.get(gatewayId) ?? new Map<string, Flag>();
      const next = m.type === 'gateway-flags' ? new Map<string, Flag>() : new Map(before);
      for (const f of m.type === 'gateway-flags' ? m.flags : [m.flag]) {
        if (f.state === 'raised') next.set(f.id, f);
        else next.delete(f.id);
      }
      if (next.size > this.#max) throw new RangeError(`${next.size} raised flags, limit ${this.#max} per gateway`);
      if (sameFlags(before, next)) return true;
      if (next.size === 0) this.#flags.delete(gatewayId);
      else this.#flags.set(gatewayId, next);
      this.emit('change', { gatewayId });
      return true;
    } catch (err) {
      const reason = (err as Error).message;
      this.#log.warn('refused flags from a gateway', { gatewayId, reason });
      this.emit('rejected', { gatewayId, reason });
      return false;
    }
  }

  #watch(peer: TunnelPeer): void {
    if (this.#closed) return;
    this.#unwatch(peer.gatewayId);
    const id = peer.gatewayId;
    const onControl = (m: unknown): void => void this.apply(id, m);
    const onGone = (): void => this.#unwatch(id);
    peer.on('control', onControl);
    peer.on('gone', onGone);
    this.#peers.set(id, { peer, onControl, onGone });
  }

  #unwatch(gatewayId: string): void {
    const w = this.#peers.get(gatewayId);
    if (!w) return;
    w.peer.off('control', w.onControl);
    w.peer.off('gone', w.onGone);
    this.#peers.delete(gatewayId);
  }

  /** Stops reading the tunnels. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#tunnels.off('peer', this.#onPeer);
    for (const id of [...this.#peers.keys()]) this.#unwatch(id);
  }
}

/** Same raised flags with the same content (a resent snapshot must not refresh every viewer). */
function sameFlags(a: Map<string, Flag>, b: Map<string, Flag>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, f] of a) {
    const g = b.get(id);
    if (!g || JSON.stringify(g) !== JSON.stringify(f)) return false;
  }
  return true;
}
