import { EventEmitter } from 'node:events';
import { exposureOf, FlagStore, type ExposurePayload, type Flag, type FlagTransition } from '../alerts/index.js';
import {
  ExposureMonitor,
  ExposureScanner,
  TargetPolicy,
  validateTarget,
  type PortAttribution,
  type ProbeEvidence,
  type ScanResult,
} from '../exposure/index.js';
import type { TunnelPeer, TunnelServer } from '../tunnel/index.js';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { AttributionExchange, monitoredCameras } from './exposure-gateway.js';
import {
  configuredTargets,
  resolveExposureOptions,
  type ExposureServiceConfig,
  type ResolvedOptions,
} from './exposure-options.js';
import type { GatewayDirectory } from './gateway-directory.js';

export interface ExposureServiceOptions extends ExposureServiceConfig {
  /** Where gateway tunnels arrive: their peers give the observed public address. */
  tunnels: Pick<TunnelServer, 'on' | 'off' | 'peers'>;
  /** Configured gateways: `publicAddress` overrides the tunnel's address. */
  directory: Pick<GatewayDirectory, 'get' | 'list'>;
  /** Injected scanner (tests); built from `engine` when unset. Must share `policy`. */
  scanner?: Pick<ExposureScanner, 'scan'>;
  /** Injected target policy; when unset one allowing the configured public addresses is built. */
  policy?: TargetPolicy;
  /** Random source for the schedule's jitter (tests). */
  random?: () => number;
  logger?: Logger;
}

/** What the viewer page shows for one camera (or one gateway). */
export interface ExposureView extends ExposurePayload {
  gatewayId: string;
  cameraId: string | undefined;
  /** The raised flags behind `state` (camera flags and flags of the whole home). */
  raised: Flag[];
  /** The last finished scan of the gateway, if any. */
  lastScan: { at: string; target: string; engine: string; openPorts: number[] } | undefined;
}

export interface ExposureServiceEvents {
  /** A scan finished and was reconciled. */
  scan: [{ gatewayId: string; result: ScanResult; transitions: FlagTransition[] }];
  /** A flag was raised or cleared (after it reached the store's file). */
  transition: [FlagTransition];
  /** A scheduled scan failed (on-demand scans reject instead). */
  error: [Error];
}

interface Watched {
  peer: TunnelPeer;
  target: string | undefined;
  /** The target was registered in the policy at run time (and must be unregistered). */
  registered: boolean;
  /** Cameras' global IPv6 addresses registered in the policy for this gateway. */
  addresses: string[];
  /** Attribution requests sent to this gateway and not yet answered. */
  exchange: AttributionExchange;
  listeners: [WatchedEvent, (msg?: unknown) => void][];
}

type WatchedEvent = 'online' | 'offline' | 'announce' | 'gone' | 'control';

/**
 * The hub's outside view, wired: every gateway whose tunnel is online is
 * scanned on its public address (the tunnel's remote address, or the
 * configured `publicAddress`), on a schedule and on demand; `exposed` flags
 * are kept in the hub's FlagStore and forwarded to the owning gateway as
 * `{type: 'flag', flag}` control messages. A gateway that goes offline stops
 * being scanned (its address may be reassigned to someone else) and gets its
 * flags resent when it returns.
 */
export class ExposureService extends EventEmitter<ExposureServiceEvents> {
  readonly store: FlagStore;
  readonly monitor: ExposureMonitor;
  readonly policy: TargetPolicy;
  readonly #o: ResolvedOptions;
  readonly #tunnels: ExposureServiceOptions['tunnels'];
  readonly #directory: ExposureServiceOptions['directory'];
  readonly #log: Logger;
  readonly #watched = new Map<string, Watched>();
  readonly #lastScan = new Map<string, ExposureView['lastScan']>();
  #state: 'running' | 'closed' = 'running';
  readonly #onPeer = (peer: TunnelPeer): void => this.#watch(peer);
  readonly #onTransition = (t: FlagTransition): void => this.#forward(t);

  private constructor(o: ResolvedOptions, opts: ExposureServiceOptions, parts: Parts) {
    super();
    this.#o = o;
    this.#tunnels = opts.tunnels;
    this.#directory = opts.directory;
    this.#log = parts.log;
    this.store = parts.store;
    this.policy = parts.policy;
    this.monitor = new ExposureMonitor({
      scanner: parts.scanner,
      flags: this.store,
      intervalMs: o.intervalMs,
      defaultPorts: o.ports,
      attribute: (gatewayId, open, signal) => this.#attribute(gatewayId, open, signal),
      ...(opts.random ? { random: opts.random } : {}),
      logger: this.#log.child('monitor'),
    });
    this.monitor.on('scan', (e) => {
      const r = e.result;
      this.#lastScan.set(e.gatewayId, {
        at: r.finishedAt,
        target: r.target,
        engine: r.engine,
        openPorts: r.open.map((p) => p.port),
      });
      this.emit('scan', { gatewayId: e.gatewayId, result: r, transitions: e.reconciled as FlagTransition[] });
    });
    this.monitor.on('error', (err) => this.emit('error', err));
    this.store.on('transition', this.#onTransition);
    this.#tunnels.on('peer', this.#onPeer);
    for (const peer of this.#tunnels.peers()) this.#watch(peer);
    this.monitor.start();
  }

  /** Validates options, opens the flag store and finds nmap (for `auto`/`nmap`). */
  static async create(opts: ExposureServiceOptions): Promise<ExposureService> {
    if (!opts || typeof opts !== 'object') throw new TypeError('ExposureService options must be an object');
    if (typeof opts.tunnels?.on !== 'function') throw new TypeError('ExposureService option tunnels is required');
    if (typeof opts.directory?.get !== 'function') throw new TypeError('ExposureService option directory is required');
    const o = resolveExposureOptions(opts);
    const log = opts.logger ?? defaultLogger('hub:exposure');
    // Configured public addresses are allowed from the start (hostnames can only be allowed this way).
    const allow = configuredTargets(opts.directory);
    const policy = opts.policy ?? new TargetPolicy({ allow });
    const scanner =
      opts.scanner ??
      (await ExposureScanner.create({
        policy,
        engine: o.engine,
        portProtocols: o.portProtocols,
        logger: log.child('scanner'),
      }));
    const store = await FlagStore.open({
      ...(o.flagsFile ? { path: o.flagsFile } : {}),
      clearAfterCleanScans: o.clearAfterCleanScans,
      logger: log.child('flags'),
    });
    return new ExposureService(o, opts, { store, policy, scanner, log });
  }

  /** Gateways being scanned now (online, with a usable address). */
  gateways(): string[] {
    return this.monitor.gateways();
  }

  /**
   * Scans one gateway now (the `POST /api/gateways/:id/scan` handler). Rejects
   * CAMGATE_EXPOSURE_UNKNOWN_GATEWAY when the gateway is not online.
   */
  scanNow(gatewayId: string): Promise<ScanResult> {
    if (this.#state === 'closed')
      return Promise.reject(new CamgateError('CAMGATE_EXPOSURE_CLOSED', 'exposure service is closed'));
    return this.monitor.scanNow(gatewayId);
  }

  /**
   * The exposure of one camera for the viewer page. A camera counts as
   * exposed when one of its own flags or a flag of its whole home (an open
   * port the hub could not attribute to one camera) is raised.
   */
  exposureFor(gatewayId: string, cameraId?: string): ExposureView {
    const flags = this.store
      .list({ gatewayId })
      .filter((f) => cameraId === undefined || f.cameraId === undefined || f.cameraId === cameraId);
    const summary = exposureOf(flags, new Date(0).toISOString());
    return {
      ...summary,
      gatewayId,
      cameraId,
      raised: flags.filter((f) => f.state === 'raised'),
      lastScan: this.#lastScan.get(gatewayId),
    };
  }

  /** Just the state, for the viewer's camera list: undefined until the gateway was scanned or flagged. */
  stateFor(gatewayId: string, cameraId?: string): ExposureView['state'] | undefined {
    const view = this.exposureFor(gatewayId, cameraId);
    if (view.lastScan === undefined && view.raised.length === 0) return undefined;
    return view.state;
  }

  #watch(peer: TunnelPeer): void {
    if (this.#state === 'closed') return;
    this.#unwatch(peer.gatewayId);
    const w: Watched = {
      peer,
      target: undefined,
      registered: false,
      addresses: [],
      exchange: new AttributionExchange(),
      listeners: [],
    };
    const on = (event: WatchedEvent, fn: (msg?: unknown) => void): void => {
      peer.on(event, fn);
      w.listeners.push([event, fn]);
    };
    on('online', () => this.#online(w));
    on('offline', () => this.#offline(w));
    on('announce', () => {
      if (w.target !== undefined) this.#monitor(w);
    });
    on('gone', () => this.#unwatch(peer.gatewayId));
    on('control', (msg) => {
      try {
        w.exchange.handle(msg);
      } catch (err) {
        this.#log.warn('refused an attribution reply', { gatewayId: peer.gatewayId, error: err });
      }
    });
    this.#watched.set(peer.gatewayId, w);
    if (peer.online) this.#online(w);
  }

  #unwatch(gatewayId: string): void {
    const w = this.#watched.get(gatewayId);
    if (!w) return;
    this.#offline(w);
    for (const [event, fn] of w.listeners) w.peer.off(event, fn);
    this.#watched.delete(gatewayId);
  }

  #online(w: Watched): void {
    const id = w.peer.gatewayId;
    const configured = this.#directory.get(id)?.publicAddress;
    const raw = configured ?? w.peer.remoteAddress;
    let target: string | undefined;
    try {
      target = raw === undefined ? undefined : validateTarget(raw);
    } catch {
      target = undefined;
    }
    if (this.#watched.get(id) !== w) return;
    this.#release(w);
    if (target === undefined) {
      this.#log.warn('gateway has no usable public address; not scanning it', { gatewayId: id });
    } else {
      // A configured address is allowed by configuration; an observed one only while its tunnel is up.
      if (configured === undefined) {
        this.policy.register(target);
        w.registered = true;
      }
      w.target = target;
      this.#monitor(w);
      if (this.#o.scanOnConnect) {
        this.monitor.scanNow(id).catch((err: unknown) => {
          if (this.#state === 'closed' || (err as CamgateError).code === 'CAMGATE_EXPOSURE_ABORTED') return;
          this.#log.warn('exposure scan on connect failed', { gatewayId: id, error: err });
          this.emit('error', err instanceof Error ? err : new Error(String(err)));
        });
      }
    }
    this.#resend(w);
  }

  #offline(w: Watched): void {
    this.#release(w);
  }

  /** Stops scanning the gateway and withdraws its run-time address from the policy. */
  #release(w: Watched): void {
    w.exchange.cancelAll();
    this.#registerAddresses(w, []);
    if (w.target === undefined) return;
    this.monitor.remove(w.peer.gatewayId);
    if (w.registered) this.policy.unregister(w.target);
    w.registered = false;
    w.target = undefined;
  }

  #monitor(w: Watched): void {
    if (w.target === undefined || this.#state === 'closed') return;
    const cameras = monitoredCameras(w.peer.announce, { allowIpv6: this.#o.ipv6 });
    // Exactly the announced addresses are allowed, and only while the gateway is online (targets.ts).
    this.#registerAddresses(
      w,
      cameras.flatMap((c) => c.addresses ?? []),
    );
    this.monitor.add({ gatewayId: w.peer.gatewayId, target: w.target, cameras });
  }

  #registerAddresses(w: Watched, next: string[]): void {
    for (const a of next) this.policy.register(a);
    for (const a of w.addresses) this.policy.unregister(a);
    w.addresses = next;
  }

  /** The monitor's attribution hook: asks the gateway over the tunnel, waits at most attributionTimeoutMs. */
  #attribute(gatewayId: string, open: readonly ProbeEvidence[], signal: AbortSignal) {
    const w = this.#watched.get(gatewayId);
    // Only a gateway that announced it answers is asked: an older one would leave every scan waiting.
    const answers = (w?.peer.announce as { attribution?: unknown } | null | undefined)?.attribution === true;
    if (!w || !w.peer.online || !answers) return Promise.resolve(new Map<number, PortAttribution>());
    const cameras = monitoredCameras(w.peer.announce, { allowIpv6: false });
    return w.exchange.ask(open, cameras, (msg) => w.peer.sendControl(msg), this.#o.attributionTimeoutMs, signal);
  }

  /** A flag changed: tell the owning gateway (the tunnel buffers while it is detached). */
  #forward(t: FlagTransition): void {
    this.emit('transition', t);
    const w = this.#watched.get(t.flag.gatewayId);
    if (!w) return; // never connected or gone: sent by #resend when it comes online
    this.#send(w, t.flag);
  }

  /** Sends every flag of the gateway (raised and cleared), oldest change first: applying is idempotent. */
  #resend(w: Watched): void {
    const changed = (f: Flag): string => f.clearedAt ?? f.raisedAt;
    const flags = this.store
      .list({ gatewayId: w.peer.gatewayId })
      .sort((a, b) => changed(b).localeCompare(changed(a)))
      .slice(0, this.#o.maxResend)
      .reverse();
    for (const f of flags) this.#send(w, f);
  }

  #send(w: Watched, flag: Flag): void {
    try {
      w.peer.sendControl({ type: 'flag', flag });
    } catch (err) {
      // Gone or buffer full: the next `online` resends the store's state.
      this.#log.warn('could not forward a flag to its gateway', {
        gatewayId: w.peer.gatewayId,
        flag: flag.id,
        error: err,
      });
    }
  }

  /** Stops scanning, detaches from the tunnels and closes the store. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#tunnels.off('peer', this.#onPeer);
    for (const id of [...this.#watched.keys()]) {
      try {
        this.#unwatch(id);
      } catch (err) {
        this.#log.warn('detaching a gateway failed', { gatewayId: id, error: err });
      }
    }
    try {
      await this.monitor.close();
    } catch (err) {
      this.#log.warn('closing the monitor failed', { error: err });
    }
    this.store.off('transition', this.#onTransition);
    try {
      await this.store.close();
    } catch (err) {
      this.#log.warn('closing the flag store failed', { error: err });
    }
  }
}

interface Parts {
  store: FlagStore;
  policy: TargetPolicy;
  scanner: Pick<ExposureScanner, 'scan'>;
  log: Logger;
}
