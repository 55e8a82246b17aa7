import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { CameraConfig } from '../config/index.js';
import { IPV6_LIMITS, isGlobalIpv6 } from '../exposure/index.js';
import { KurentoPolicy } from '../kurento/index.js';
import { TunnelClient, type Channel, type TunnelClientOptions, type TunnelState } from '../tunnel/index.js';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { CameraRegistry } from './camera-registry.js';
import { KurentoRelay, type RelayEvents } from './kurento-relay.js';
import { gatewayMediaRules, type GatewayMediaOptions } from './media-targets.js';
import { CameraWarmer } from './keep-warm.js';
import { sameCameraState, type GatewayCameraState } from './camera-state.js';
import { SessionKeeper } from './session-keeper.js';

export interface GatewayOptions extends GatewayMediaOptions {
  /** The hub to dial out to. */
  hub: {
    /** `wss://HUB/tunnel` (plain `ws://` only to loopback, or with `allowInsecure`). */
    url: string;
    gatewayId: string;
    secret: string;
    tls?: { caFile?: string; ca?: string | Buffer; fingerprint256?: string };
    allowInsecure?: boolean;
  };
  /** Kurento-protocol media backend: KMS or `camgate engine`. */
  mediaBackendUrl?: string;
  cameras?: CameraConfig[];
  /** How long objects of a session whose viewers vanished are kept before release. */
  sessionGraceMs?: number;
  /** Largest JSON-RPC message relayed, each direction. */
  maxMessageBytes?: number;
  /**
   * Keep one player per camera playing on the media backend, so viewers' first
   * picture comes from the built-in engine's GOP cache at once instead of
   * after the camera's next keyframe (keep-warm.ts). Costs one RTSP pull per
   * camera on the LAN at all times. 'auto' (default): only when the backend
   * is the built-in engine, the one that shares a pull between players.
   */
  keepWarm?: boolean | 'auto';
  /** Log every Kurento message relayed, both ways, at debug (`camgate gateway --verbose`); secrets redacted. */
  logFrames?: boolean;
  /** Tunnel tuning (backoff, heartbeat, how long detached channels wait for the hub) passed to the TunnelClient. */
  tunnel?: Pick<TunnelClientOptions, 'backoff' | 'heartbeatMs' | 'deadAfterMs' | 'resumeGraceMs' | 'replacedBackoff'>;
  logger?: Logger;
}

export const DEFAULT_GATEWAY_OPTIONS = {
  mediaBackendUrl: 'ws://127.0.0.1:8888/kurento',
  sessionGraceMs: 30_000, // 30 s: longer than a kurento-client reconnect, short enough not to hoard pipelines
  maxMessageBytes: 1024 * 1024, // 1 MiB: SDP offers are a few KiB
  maxQueuedMessages: 256,
  maxPendingRequests: 256,
  releaseTimeoutMs: 5_000, // 5 s
  keepWarmRetryMs: 5_000, // 5 s between attempts to reach the media backend
} as const;

export interface GatewayEvents {
  /** The tunnel's state: connecting, connected, reconnecting (with nextRetryMs), refused (with reason), closed. */
  state: [TunnelState, { reason?: string; code?: string; nextRetryMs?: number }];
  /** A request from the hub was refused by the policy. */
  refused: RelayEvents['refused'];
  /** A viewer asked for a camera. */
  viewing: RelayEvents['viewing'];
  /** A Kurento connection from the hub opened or closed. */
  channel: [{ channel: number; open: boolean }];
  /** Objects of an abandoned session were released on the media backend. */
  released: [{ sessionId: string; objects: number }];
  /** A control message from the hub (e.g. a flag raised by the outside monitor). */
  control: [unknown];
  /**
   * A camera's state changed: idle (keepWarm off: not pulled unless watched), connecting, live,
   * reconnecting, unreachable (with `reason` in plain words); `notice` when the stream plays differently.
   */
  cameraState: [GatewayCameraState];
}

/**
 * The LAN side of camgate: dials out to the hub, accepts the Kurento
 * connections the hub opens through the tunnel and relays each to the media
 * backend through the policy. It opens no listening socket.
 */
export class Gateway extends EventEmitter<GatewayEvents> {
  readonly cameras: CameraRegistry;
  readonly #log: Logger;
  readonly #tunnel: TunnelClient;
  readonly #keeper: SessionKeeper;
  readonly #warmer: CameraWarmer;
  readonly #policy: KurentoPolicy;
  readonly #relays = new Set<KurentoRelay>();
  readonly #cameraStates = new Map<string, GatewayCameraState>();
  #cameraAddresses = new Map<string, string[]>();
  #attribution = false;
  readonly #opts: Required<Pick<GatewayOptions, 'mediaBackendUrl' | 'maxMessageBytes' | 'logFrames'>>;
  #state: 'idle' | 'running' | 'closing' | 'closed' = 'idle';

  constructor(opts: GatewayOptions) {
    super();
    if (!opts || typeof opts !== 'object' || !opts.hub) throw new TypeError('Gateway options: hub is required');
    this.#log = opts.logger ?? defaultLogger('gateway');
    this.cameras = new CameraRegistry(opts.cameras ?? []);
    this.#opts = {
      mediaBackendUrl: opts.mediaBackendUrl ?? DEFAULT_GATEWAY_OPTIONS.mediaBackendUrl,
      maxMessageBytes: opts.maxMessageBytes ?? DEFAULT_GATEWAY_OPTIONS.maxMessageBytes,
      logFrames: opts.logFrames === true,
    };
    const graceMs = opts.sessionGraceMs ?? DEFAULT_GATEWAY_OPTIONS.sessionGraceMs;
    if (!Number.isInteger(graceMs) || graceMs < 0) {
      throw new RangeError(`Gateway option sessionGraceMs: ${graceMs} is not a whole number of milliseconds >= 0`);
    }
    // Where the hub may point the media backend (TURN/STUN, LAN addresses, RtpEndpoint): this gateway decides.
    const media = gatewayMediaRules(opts, opts.hub.url, () => this.#tunnel.hubMediaRelays, this.#log.child('policy'));
    this.#policy = new KurentoPolicy({ cameras: this.cameras, media, logger: this.#log.child('policy') });
    this.#keeper = new SessionKeeper({
      backendUrl: this.#opts.mediaBackendUrl,
      graceMs,
      releaseTimeoutMs: DEFAULT_GATEWAY_OPTIONS.releaseTimeoutMs,
      logger: this.#log.child('sessions'),
    });
    this.#keeper.on('released', (e) => this.emit('released', e));
    const keepWarm = opts.keepWarm ?? 'auto';
    this.#warmer = new CameraWarmer({
      mode: keepWarm === 'auto' ? 'auto' : keepWarm ? 'always' : 'never',
      backendUrl: this.#opts.mediaBackendUrl,
      cameras: this.cameras,
      logger: this.#log.child('warm'),
      retryMs: DEFAULT_GATEWAY_OPTIONS.keepWarmRetryMs,
      onCameraState: (s) => this.#onCameraState(s),
    });
    const tls = opts.hub.tls;
    this.#tunnel = new TunnelClient({
      url: opts.hub.url,
      gatewayId: opts.hub.gatewayId,
      secret: opts.hub.secret,
      allowInsecure: opts.hub.allowInsecure,
      tls: tls
        ? { ca: tls.ca ?? (tls.caFile ? readCa(tls.caFile) : undefined), fingerprint256: tls.fingerprint256 }
        : undefined,
      // The hub learns ids, names and the service ports to scan; never a LAN address, never a credential.
      // The one kind of address it gets is a camera's global IPv6 address, which the internet can reach
      // anyway and the outside monitor must try (docs/exposure.md "IPv6"); `setCameraAddresses` sets them.
      announce: () => ({ cameras: this.#announcedCameras(), ...(this.#attribution ? { attribution: true } : {}) }),
      ...opts.tunnel,
      logger: this.#log.child('tunnel'),
    });
    this.#tunnel.on('state', (state, info) => {
      // The tunnel logs its own transitions; a refusal is worth repeating at error level.
      const level = state === 'refused' ? 'error' : 'debug';
      this.#log[level](`tunnel ${state}`, { ...info });
      this.emit('state', state, info);
    });
    this.#tunnel.on('channel', (channel) => this.#onChannel(channel));
    this.#tunnel.on('control', (msg) => this.emit('control', msg));
  }

  /**
   * Sets the global IPv6 addresses announced for each camera (exposure-responder.ts learns them) and
   * re-announces when they changed. Anything but a global unicast IPv6 address is dropped here.
   */
  setCameraAddresses(addresses: ReadonlyMap<string, readonly string[]>): void {
    const next = new Map<string, string[]>();
    for (const [id, list] of addresses) {
      if (!this.cameras.get(id)) continue;
      const good = [...new Set(list.filter(isGlobalIpv6))].sort().slice(0, IPV6_LIMITS.perCamera);
      if (good.length > 0) next.set(id, good);
    }
    const key = (m: Map<string, string[]>): string => JSON.stringify([...m].sort());
    if (key(next) === key(this.#cameraAddresses)) return;
    this.#cameraAddresses = next;
    this.#tunnel.updateAnnounce();
  }

  /** Tells the hub whether this gateway answers attribution requests (an ExposureResponder runs). */
  announceAttribution(on: boolean): void {
    if (this.#attribution === on) return;
    this.#attribution = on;
    this.#tunnel.updateAnnounce();
  }

  #announcedCameras(): { id: string; name: string; ports?: number[]; ipv6?: string[] }[] {
    return this.cameras.announce().map((c) => {
      const ports = this.cameras.get(c.id)?.ports;
      const ipv6 = this.#cameraAddresses.get(c.id);
      return { ...c, ...(ports?.length ? { ports: [...ports] } : {}), ...(ipv6 ? { ipv6: [...ipv6] } : {}) };
    });
  }

  /** Each camera's latest state (empty until the media backend was reached). */
  get cameraStates(): GatewayCameraState[] {
    return [...this.#cameraStates.values()].map((s) => ({ ...s }));
  }

  #onCameraState(s: GatewayCameraState): void {
    if (this.#state !== 'running' || sameCameraState(this.#cameraStates.get(s.cameraId), s)) return;
    this.#cameraStates.set(s.cameraId, s);
    // Every camera-level line names the camera; `unreachable` is worth a warning, the rest is information.
    const level = s.state === 'unreachable' ? 'warn' : 'info';
    this.#log[level](`camera ${s.state}`, { camera: s.cameraId, reason: s.reason, notice: s.notice?.message });
    this.emit('cameraState', { ...s });
  }

  /** Creates a gateway and starts dialling out. */
  static start(opts: GatewayOptions): Gateway {
    const gw = new Gateway(opts);
    gw.start();
    return gw;
  }

  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#tunnel.start();
    this.#warmer.start();
  }

  get tunnelState(): TunnelState {
    return this.#tunnel.state;
  }

  /** Number of Kurento connections relayed right now. */
  get activeChannels(): number {
    return this.#relays.size;
  }

  /** Kurento sessions tracked (attached or in their grace period). */
  get keptSessions(): number {
    return this.#keeper.size;
  }

  /** Sends a control message to the hub (flags found by the LAN audit, for instance). */
  sendControl(msg: unknown): void {
    this.#tunnel.sendControl(msg);
  }

  #onChannel(channel: Channel): void {
    if (this.#state !== 'running') {
      channel.close(1001, 'gateway shutting down');
      return;
    }
    const relay = new KurentoRelay(channel, {
      backendUrl: this.#opts.mediaBackendUrl,
      policy: this.#policy,
      keeper: this.#keeper,
      logger: this.#log.child('relay'),
      maxMessageBytes: this.#opts.maxMessageBytes,
      maxQueuedMessages: DEFAULT_GATEWAY_OPTIONS.maxQueuedMessages,
      maxPendingRequests: DEFAULT_GATEWAY_OPTIONS.maxPendingRequests,
      logFrames: this.#opts.logFrames,
    });
    this.#relays.add(relay);
    this.emit('channel', { channel: channel.id, open: true });
    relay.on('refused', (e) => this.emit('refused', e));
    relay.on('viewing', (e) => this.emit('viewing', e));
    relay.once('close', () => {
      this.#relays.delete(relay);
      this.emit('channel', { channel: channel.id, open: false });
    });
  }

  /** Stops dialling, closes every relay and releases what its sessions own. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    this.#state = 'closing';
    try {
      await this.#tunnel.close();
    } catch (err) {
      this.#log.warn('closing the tunnel failed', { err });
    }
    try {
      await this.#warmer.close();
    } catch (err) {
      this.#log.warn('releasing the warm players failed', { err });
    }
    try {
      await this.#keeper.close();
    } catch (err) {
      this.#log.warn('releasing sessions failed', { err });
    }
    this.#state = 'closed';
  }
}

function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new CamgateError('CAMGATE_CONFIG', `hub.tls.caFile: cannot read ${path}: ${(err as Error).message}`);
  }
}
