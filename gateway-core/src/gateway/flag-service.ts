import { EventEmitter } from 'node:events';
import { FlagStore, MqttBridge, sanitizeFlag, type FlagTransition, type MqttBridgeOptions } from '../alerts/index.js';
import type { CameraConfig, GatewayConfig } from '../config/index.js';
import type { AuditResult } from '../exposure/index.js';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { HubFlagSync, type HubFlagTunnel } from './hub-flag-sync.js';
import { TakeoverWatch, type TunnelStateSource } from './takeover-watch.js';
import { CompromiseWatch, type ConntrackWatchOptions } from './compromise-watch.js';
import type { GatewayCameraState } from './camera-state.js';
import type { TunnelState } from '../tunnel/index.js';
import { AuditSchedule, auditCamera, buildAudit, type GatewayAuditOptions } from './audit-schedule.js';

/** Where flags go over MQTT: a broker `url`, or `embedded: true` for an aedes broker on 127.0.0.1. */
export interface GatewayMqttOptions {
  url?: string;
  /** Broker user name; never logged. */
  username?: string;
  /** Broker password; never logged. */
  password?: string;
  /** Start an in-process broker on loopback instead of connecting to one. */
  embedded?: boolean;
  /** Port of the embedded broker (0 = any free port). */
  embeddedPort?: number;
  baseTopic?: string;
  /** Publish Home Assistant discovery configs. */
  homeAssistant?: boolean;
  /** Allow plain `mqtt://` to a host that is not loopback. */
  allowInsecure?: boolean;
  /** TLS material for `mqtts://` (PEM strings). */
  tls?: MqttBridgeOptions['tls'];
  /** Wait between reconnect attempts, ms (the bridge's default when unset). */
  reconnectMs?: number;
}

/** Compromise behaviour (docs/exposure.md "Compromise behaviour"): the canary's reports and the connection table. */
export interface GatewayCompromiseOptions {
  /** Accept reports of `camgate canary --report PATH` on this Unix socket (a file, not a network port). */
  canarySocket?: string;
  /** File mode of that socket (default 0o600). */
  canarySocketMode?: number;
  /** Read the router's connection table (camgate running on the router); `true` for the defaults. */
  conntrack?: boolean | ConntrackWatchOptions;
  /** A compromise flag clears after its source has been quiet this long, ms (default 24 h). */
  quietMs?: number;
}

export interface FlagServiceOptions {
  gatewayId: string;
  /** Home Assistant device name (`camgate <gatewayId>` when unset). */
  gatewayName?: string;
  /** The registered cameras: the only hosts the audit touches. */
  cameras: readonly CameraConfig[];
  /** The gateway's flag store (append-only JSONL); in memory when unset. */
  flagsFile?: string;
  /** The LAN audit; `false` turns it off. */
  audit?: GatewayAuditOptions | false;
  /** MQTT publishing; off when unset. */
  mqtt?: GatewayMqttOptions;
  /** Compromise behaviour: canary reports and/or the connection table; off when unset. */
  compromise?: GatewayCompromiseOptions;
  /** Source of the hub's control messages: the `Gateway` (its `control` event). */
  control?: {
    on(e: 'control', fn: (msg: unknown) => void): unknown;
    off(e: 'control', fn: (msg: unknown) => void): unknown;
    /** The Gateway's camera states, published on MQTT when a bridge runs (optional for other sources). */
    on(e: 'cameraState', fn: (s: GatewayCameraState) => void): unknown;
    /** States known before this service started (published at once). */
    readonly cameraStates?: GatewayCameraState[];
    off(e: 'cameraState', fn: (s: GatewayCameraState) => void): unknown;
    /** The hub tunnel's state: MQTT `status` is `online` only while it is `connected` (docs/mqtt.md). */
    on(e: 'state', fn: (state: TunnelState) => void): unknown;
    off(e: 'state', fn: (state: TunnelState) => void): unknown;
    /** The tunnel's state now (the `Gateway` has it). */
    readonly tunnelState?: TunnelState;
    /** With `sendControl` (the Gateway), this gateway's own flags are sent to the hub (see `hubFlags`). */
    sendControl?(msg: unknown): void;
  };
  /**
   * Send this gateway's own flags (LAN audit, takeover) to the hub over the tunnel, so its viewer shows them
   * (hub-flag-sync.ts: LAN addresses and camera passwords are removed first). Needs `control` to be the
   * Gateway. Default true.
   */
  hubFlags?: boolean;
  logger?: Logger;
}

export const DEFAULT_FLAG_SERVICE_OPTIONS = {
  auditIntervalMs: 6 * 3_600_000, // 6 h: a new telnet port or UPnP mapping is seen the same day, at little LAN cost
  auditJitter: 0.1, // ±10 %
  auditOnStart: true,
} as const;

export interface FlagServiceEvents {
  /** A flag was raised or cleared (already on disk). */
  transition: [FlagTransition];
  /** An audit finished. */
  audit: [AuditResult];
  /** A control message from the hub was refused (malformed flag, wrong gateway, not from the hub). */
  rejected: [{ reason: string }];
  /** A scheduled audit or the MQTT bridge failed (on-demand audits reject instead). */
  error: [Error];
}

/**
 * The gateway's flags, wired: a FlagStore fed by the LAN audit (scheduled and
 * on demand) and by the hub's outside findings (`{type: 'flag', flag}` control
 * messages, validated before they are applied), published over MQTT when
 * configured. Node-RED and Homebridge listen to `transition` or read `store`.
 */
export class FlagService extends EventEmitter<FlagServiceEvents> {
  readonly store: FlagStore;
  readonly bridge: MqttBridge | undefined;
  readonly gatewayId: string;
  /** The compromise watch when `compromise` is set (its `canarySocket` is where `camgate canary` reports). */
  readonly compromise: CompromiseWatch | undefined;
  readonly #audit: AuditSchedule | undefined;
  readonly #log: Logger;
  readonly #control: FlagServiceOptions['control'];
  #state: 'idle' | 'running' | 'closed' = 'idle';
  #takeover: TakeoverWatch | undefined;
  readonly #hubSync: HubFlagSync | undefined;
  readonly #onControl = (msg: unknown): void => void this.applyControl(msg);
  readonly #onCameraState = (st: GatewayCameraState): void => {
    this.bridge?.publishCameraState(st).catch((err: unknown) => this.#log.debug('camera state not published', { err }));
  };
  readonly #onTransition = (t: FlagTransition): void => void this.emit('transition', t);
  /** `connected` is the tunnel accepted by the hub (TunnelClient sets it after the hub's welcome). */
  readonly #onTunnelState = (state: TunnelState): void => {
    this.bridge
      ?.publishStatus(state === 'connected' ? 'online' : 'offline')
      .catch((err: unknown) => this.#log.debug('status not published', { err }));
  };

  private constructor(
    opts: FlagServiceOptions,
    store: FlagStore,
    bridge: MqttBridge | undefined,
    compromise: CompromiseWatch | undefined,
    log: Logger,
  ) {
    super();
    this.gatewayId = opts.gatewayId;
    this.store = store;
    this.bridge = bridge;
    this.compromise = compromise;
    compromise?.on('error', (err) => this.#report(err));
    this.#log = log;
    if (opts.audit !== false) {
      const a = opts.audit ?? {};
      const d = DEFAULT_FLAG_SERVICE_OPTIONS;
      this.#audit = new AuditSchedule({
        audit: buildAudit(opts.gatewayId, opts.cameras, a, store, log),
        intervalMs: a.intervalMs ?? d.auditIntervalMs,
        jitter: d.auditJitter,
        onStart: a.onStart ?? d.auditOnStart,
        logger: log,
        onResult: (r) => this.emit('audit', r),
        onError: (err) => this.#report(err),
      });
    }
    this.#control = opts.control;
    store.on('transition', this.#onTransition);
    // Runtime failures are already logged; they reach 'error' only for a caller that listens, never as an
    // unhandled 'error' that would take down the gateway over a broker that is briefly unreachable.
    bridge?.on('error', (err) => this.#report(err));
    this.#control?.on('control', this.#onControl);
    this.#control?.on('cameraState', this.#onCameraState);
    for (const st of this.#control?.cameraStates ?? []) this.#onCameraState(st);
    this.#control?.on('state', this.#onTunnelState);
    if (this.#control?.tunnelState !== undefined) this.#onTunnelState(this.#control.tunnelState);
    const tunnel = opts.control as Partial<HubFlagTunnel> | undefined;
    if (opts.hubFlags !== false && typeof tunnel?.sendControl === 'function' && typeof tunnel.on === 'function') {
      this.#hubSync = new HubFlagSync({
        gatewayId: opts.gatewayId,
        store,
        tunnel: tunnel as HubFlagTunnel,
        cameras: opts.cameras,
        logger: log.child('hub-sync'),
      });
    }
  }

  /** Validates options, opens the store and starts the MQTT bridge (it connects in the background). */
  static async create(opts: FlagServiceOptions): Promise<FlagService> {
    if (!opts || typeof opts !== 'object') throw new TypeError('FlagService options must be an object');
    if (typeof opts.gatewayId !== 'string' || opts.gatewayId === '')
      throw new TypeError(
        `FlagService option gatewayId must be a non-empty string, got ${JSON.stringify(opts.gatewayId)}`,
      );
    if (!Array.isArray(opts.cameras)) throw new TypeError('FlagService option cameras must be an array');
    const a = opts.audit;
    if (a !== undefined && a !== false) {
      const ms = a.intervalMs ?? DEFAULT_FLAG_SERVICE_OPTIONS.auditIntervalMs;
      if (!Number.isInteger(ms) || ms < 1000)
        throw new RangeError(`FlagService option audit.intervalMs must be an integer >= 1000 (ms), got ${String(ms)}`);
    }
    const m = opts.mqtt;
    if (m !== undefined && (m.url === undefined) === (m.embedded !== true))
      throw new RangeError('FlagService option mqtt: set either url or embedded: true');
    const log = opts.logger ?? defaultLogger('gateway:flags');
    const store = await FlagStore.open({
      ...(opts.flagsFile ? { path: opts.flagsFile } : {}),
      logger: log.child('store'),
    });
    let bridge: MqttBridge | undefined;
    let compromise: CompromiseWatch | undefined;
    try {
      if (m) {
        bridge = await MqttBridge.start({
          store,
          gatewayId: opts.gatewayId,
          ...(opts.gatewayName ? { gatewayName: opts.gatewayName } : {}),
          cameras: opts.cameras.map((c) => ({ id: c.id, name: c.name })),
          ...(m.url !== undefined ? { url: m.url } : {}),
          ...pick(m, ['username', 'password', 'baseTopic', 'homeAssistant', 'allowInsecure', 'tls', 'reconnectMs']),
          ...(m.embeddedPort !== undefined ? { embeddedPort: m.embeddedPort } : {}),
          // With a hub (`control`), `status` follows its tunnel and starts `offline`; without one there is no
          // tunnel to follow, and `status` says the gateway runs.
          initialStatus: opts.control ? 'offline' : 'online',
          logger: log.child('mqtt'),
        });
      }
      if (opts.compromise) {
        compromise = await CompromiseWatch.start({
          gatewayId: opts.gatewayId,
          cameras: opts.cameras.map(auditCamera),
          store,
          ...opts.compromise,
          logger: log.child('compromise'),
        });
      }
      return new FlagService(opts, store, bridge, compromise, log);
    } catch (err) {
      await compromise?.close().catch(() => undefined);
      await bridge?.close().catch(() => undefined);
      await store.close();
      throw err;
    }
  }

  /** Options from a validated gateway configuration file (`flagsFile`, `audit`, `mqtt`). */
  static optionsFromConfig(cfg: GatewayConfig): Omit<FlagServiceOptions, 'control' | 'logger'> {
    return {
      gatewayId: cfg.hub.gatewayId,
      cameras: cfg.cameras,
      ...(cfg.flagsFile ? { flagsFile: cfg.flagsFile } : {}),
      ...(cfg.audit ? { audit: cfg.audit } : {}),
      ...(cfg.mqtt ? { mqtt: cfg.mqtt } : {}),
      ...(cfg.compromise ? { compromise: cfg.compromise } : {}),
    };
  }

  /**
   * Raises `secret-in-use` when the gateway's tunnel is taken over (4409) and
   * clears it once the connection is held again for `clearAfterMs` (takeover-watch.ts).
   * Pass the `Gateway`. Calling it again replaces the previous watch.
   */
  watchTunnel(tunnel: TunnelStateSource, opts: { clearAfterMs?: number } = {}): void {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_FLAGS_CLOSED', 'flag service is closed');
    this.#takeover?.close();
    this.#takeover = new TakeoverWatch({
      gatewayId: this.gatewayId,
      store: this.store,
      tunnel,
      ...opts,
      logger: this.#log.child('takeover'),
    });
  }

  /** Starts the audit schedule (and one audit now unless `audit.onStart` is false). */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#audit?.start();
  }

  /** Runs the LAN audit now; while one runs, returns that one. */
  auditNow(): Promise<AuditResult> {
    if (this.#state === 'closed')
      return Promise.reject(new CamgateError('CAMGATE_FLAGS_CLOSED', 'flag service is closed'));
    if (!this.#audit) return Promise.reject(new CamgateError('CAMGATE_AUDIT_DISABLED', 'the LAN audit is turned off'));
    return this.#audit.runNow();
  }

  /**
   * Applies one control message from the hub. Only `{type: 'flag', flag}`
   * with a valid flag of this gateway from the hub is applied; anything else
   * is refused (`rejected` event) and never throws.
   */
  async applyControl(msg: unknown): Promise<FlagTransition | undefined> {
    const m = msg as { type?: unknown; flag?: unknown } | null;
    if (typeof m !== 'object' || m === null || m.type !== 'flag') return undefined; // other control kinds
    let reason: string | undefined;
    try {
      const flag = sanitizeFlag(m.flag);
      if (flag.gatewayId !== this.gatewayId) reason = `flag for another gateway (${flag.gatewayId})`;
      else if (flag.source !== 'hub') reason = 'the hub may only forward flags it raised (source "hub")';
      else return await this.store.apply(flag);
    } catch (err) {
      reason = (err as Error).message;
    }
    this.#log.warn('refused a flag from the hub', { reason });
    this.emit('rejected', { reason });
    return undefined;
  }

  #report(err: Error): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** Stops the schedule and a running audit, publishes `offline`, closes the store. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#control?.off('control', this.#onControl);
    this.#hubSync?.close();
    this.#takeover?.close();
    this.#control?.off('cameraState', this.#onCameraState);
    this.#control?.off('state', this.#onTunnelState);
    await this.#audit?.close();
    try {
      await this.compromise?.close();
    } catch (err) {
      this.#log.warn('closing the compromise watch failed', { error: err });
    }
    try {
      await this.bridge?.close();
    } catch (err) {
      this.#log.warn('closing the MQTT bridge failed', { error: err });
    }
    this.store.off('transition', this.#onTransition);
    try {
      await this.store.close();
    } catch (err) {
      this.#log.warn('closing the flag store failed', { error: err });
    }
  }
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
