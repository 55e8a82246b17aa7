import { EventEmitter } from 'node:events';
import { adviceFor } from '../alerts/index.js';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { toEvidence, type FlagObservation, type FlagSink, type ProbeEvidence } from './evidence.js';
import type { ExposureScanner, ScanResult } from './scanner.js';
import { isGlobalIpv6 } from './ipv6.js';
import { DEFAULT_EXPOSURE_PORTS, validatePorts, validateTarget } from './targets.js';

export interface MonitoredCamera {
  id: string;
  /** Display name for the advice text (never an address). */
  name?: string;
  /** Ports that belong to this camera from outside (e.g. its configured external port). */
  ports?: number[];
  /**
   * The camera's global IPv6 addresses, as its gateway announced them: each is
   * scanned like the home's IPv4 address, and an answer there names the camera.
   */
  addresses?: string[];
}

/** How the gateway matched an open port to a camera (attribution.ts). */
export interface PortAttribution {
  cameraId: string;
  method: string;
}

/**
 * Asks the gateway which camera answered on each open port (the hub sends
 * what it saw; the gateway answers with camera ids). Resolves a map from
 * port to camera; ports it could not match are left out.
 */
export type AttributeFn = (
  gatewayId: string,
  open: readonly ProbeEvidence[],
  signal: AbortSignal,
) => Promise<ReadonlyMap<number, PortAttribution>>;

export interface MonitoredGateway {
  gatewayId: string;
  /** The home's public address: the tunnel's observed peer, or a configured one. */
  target: string;
  /** Ports to scan; default: the monitor's `defaultPorts` plus every camera's ports. */
  ports?: number[];
  cameras: MonitoredCamera[];
}

export interface MonitorScanEvent {
  gatewayId: string;
  result: ScanResult;
  /** What the flag sink returned (FlagStore: the transitions). */
  reconciled: unknown;
}

export interface ExposureMonitorOptions {
  /** Does the scanning (and enforces the target policy). */
  scanner: Pick<ExposureScanner, 'scan'>;
  /** Receives every scan's findings (`FlagStore`). */
  flags: FlagSink;
  /** Time between scheduled scans of one gateway, in ms. */
  intervalMs?: number;
  /** Each interval is scaled by a random factor in [1 - jitter, 1 + jitter]. */
  jitter?: number;
  /** Random source in [0, 1), injectable for tests. */
  random?: () => number;
  /** Ports scanned when a gateway names none. */
  defaultPorts?: readonly number[];
  /** Attribution of open IPv4 ports to cameras by the gateway; without it only a port one camera claims is named. */
  attribute?: AttributeFn;
  logger?: Logger;
}

export const DEFAULT_EXPOSURE_MONITOR_OPTIONS = {
  intervalMs: 15 * 60_000, // 15 min
  jitter: 0.1, // ±10 %: gateways that connected together do not scan together
  defaultPorts: DEFAULT_EXPOSURE_PORTS,
} as const;

interface Entry {
  gw: MonitoredGateway;
  ports: number[];
  timer?: NodeJS.Timeout;
  running?: Promise<ScanResult>;
  abort?: AbortController;
}

/**
 * The hub's outside view of each home: scans the gateway's public address on
 * a jittered schedule and on demand, never two scans of one gateway at once,
 * and reconciles every finished scan into the flag store (an `exposed` flag
 * per reachable port; the store clears it after its clean-scan threshold).
 * A failed scan reconciles nothing: an error is not a clean scan.
 *
 * Events: `scan` after each reconciled scan; `error` for scheduled scans that
 * fail (on-demand `scanNow()` rejects instead — never both).
 */
export class ExposureMonitor extends EventEmitter<{ scan: [MonitorScanEvent]; error: [Error] }> {
  readonly #o: Required<Omit<ExposureMonitorOptions, 'logger' | 'attribute'>>;
  readonly #attribute: AttributeFn | undefined;
  readonly #log: Logger;
  readonly #entries = new Map<string, Entry>();
  #state: 'idle' | 'running' | 'closed' = 'idle';

  constructor(opts: ExposureMonitorOptions) {
    super();
    if (!opts?.scanner || typeof opts.scanner.scan !== 'function')
      throw new TypeError('scanner must have a scan() method');
    if (!opts.flags || typeof opts.flags.reconcile !== 'function')
      throw new TypeError('flags must have a reconcile() method');
    const o = { ...DEFAULT_EXPOSURE_MONITOR_OPTIONS, random: Math.random, ...stripUndefined(opts) };
    if (!Number.isInteger(o.intervalMs) || o.intervalMs < 1000)
      throw new RangeError(`intervalMs must be an integer of at least 1000, got ${String(o.intervalMs)}`);
    if (typeof o.jitter !== 'number' || !(o.jitter >= 0 && o.jitter < 1))
      throw new RangeError(`jitter must be a number in [0, 1), got ${String(o.jitter)}`);
    validatePorts([...o.defaultPorts]);
    this.#o = o as Required<Omit<ExposureMonitorOptions, 'logger' | 'attribute'>>;
    this.#attribute = opts.attribute;
    this.#log = opts.logger ?? defaultLogger('exposure:monitor');
  }

  /** Starts the schedule for every gateway added (and added later). */
  start(): void {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_EXPOSURE_CLOSED', 'monitor is closed');
    if (this.#state === 'running') return;
    this.#state = 'running';
    for (const id of this.#entries.keys()) this.#schedule(id);
  }

  /** Adds or replaces a gateway (a replaced gateway's running scan is aborted). */
  add(gw: MonitoredGateway): void {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_EXPOSURE_CLOSED', 'monitor is closed');
    const ports = checkGateway(gw, this.#o.defaultPorts);
    this.remove(gw.gatewayId);
    this.#entries.set(gw.gatewayId, { gw: structuredClone(gw), ports });
    if (this.#state === 'running') this.#schedule(gw.gatewayId);
  }

  /** Stops monitoring a gateway; its running scan is aborted and not reconciled. */
  remove(gatewayId: string): void {
    const e = this.#entries.get(gatewayId);
    if (!e) return;
    clearTimeout(e.timer);
    e.abort?.abort();
    this.#entries.delete(gatewayId);
  }

  /** Gateway ids being monitored. */
  gateways(): string[] {
    return [...this.#entries.keys()];
  }

  /**
   * Scans one gateway now. If a scan of it is already running, returns that
   * scan instead of starting a second one.
   */
  scanNow(gatewayId: string): Promise<ScanResult> {
    if (this.#state === 'closed')
      return Promise.reject(new CamgateError('CAMGATE_EXPOSURE_CLOSED', 'monitor is closed'));
    const e = this.#entries.get(gatewayId);
    if (!e)
      return Promise.reject(
        new CamgateError('CAMGATE_EXPOSURE_UNKNOWN_GATEWAY', `gateway ${JSON.stringify(gatewayId)} is not monitored`),
      );
    if (e.running) return e.running;
    const abort = new AbortController();
    e.abort = abort;
    const run = (async () => {
      const result = await this.#o.scanner.scan(e.gw.target, e.ports, { signal: abort.signal });
      // Each camera's global IPv6 addresses, on the gateway's ports plus the camera's own.
      const v6: { camera: MonitoredCamera; ev: ProbeEvidence }[] = [];
      for (const camera of e.gw.cameras) {
        for (const address of camera.addresses ?? []) {
          const ports = validatePorts([...e.ports, ...(camera.ports ?? [])]);
          const r = await this.#o.scanner.scan(address, ports, { signal: abort.signal });
          v6.push(...r.open.map((ev) => ({ camera, ev })));
        }
      }
      const attributed = await this.#attributed(gatewayId, result.open, abort.signal);
      if (abort.signal.aborted || this.#entries.get(gatewayId) !== e)
        throw new CamgateError('CAMGATE_EXPOSURE_ABORTED', 'scan aborted');
      const found = [
        ...result.open.map((ev) => this.#observation(e.gw, ev, attributed.get(ev.port))),
        ...mergeByKey(v6.map(({ camera, ev }) => this.#v6Observation(e.gw, camera, ev))),
      ];
      result.open.push(...v6.map(({ ev }) => ev));
      const reconciled = await this.#o.flags.reconcile({ source: 'hub', gatewayId, kinds: ['exposed'] }, found);
      this.emit('scan', { gatewayId, result, reconciled });
      return result;
    })();
    e.running = run;
    const done = (): void => {
      if (e.running === run) e.running = undefined;
      if (e.abort === abort) e.abort = undefined;
    };
    run.then(done, done);
    return run;
  }

  /** Stops every timer and aborts running scans; safe to call more than once. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    const running: Promise<unknown>[] = [];
    for (const e of this.#entries.values()) {
      clearTimeout(e.timer);
      e.abort?.abort();
      if (e.running) running.push(e.running.catch(() => undefined));
    }
    this.#entries.clear();
    await Promise.all(running);
  }

  /** The gateway's attribution of the open ports; a failed or refused attribution names no camera. */
  async #attributed(
    gatewayId: string,
    open: readonly ProbeEvidence[],
    signal: AbortSignal,
  ): Promise<ReadonlyMap<number, PortAttribution>> {
    if (!this.#attribute || open.length === 0) return new Map();
    try {
      return await this.#attribute(gatewayId, open, signal);
    } catch (err) {
      this.#log.warn('attribution failed; the open ports stay home-wide', { gatewayId, error: err });
      return new Map();
    }
  }

  /**
   * One `exposed` observation per reachable port. It names the camera the
   * gateway matched (the method goes into the evidence), else the camera
   * whose announced service ports alone claim the port, else none: home-wide.
   */
  #observation(gw: MonitoredGateway, ev: ProbeEvidence, match?: PortAttribution): FlagObservation {
    const matched = match ? gw.cameras.find((c) => c.id === match.cameraId) : undefined;
    const owners = gw.cameras.filter((c) => c.ports?.includes(ev.port));
    const camera = matched ?? (owners.length === 1 ? owners[0] : undefined);
    const method = matched ? (match as PortAttribution).method : camera ? 'service-port' : undefined;
    const evidence = [toEvidence(ev)];
    if (camera && method)
      evidence.push({
        host: ev.host,
        port: ev.port,
        protocol: 'attribution',
        detail:
          method === 'service-port'
            ? `camera ${camera.id}: the port is one of its configured service ports`
            : `camera ${camera.id}: matched by the gateway (${method})`,
        at: ev.at,
      });
    const obs: FlagObservation = {
      kind: 'exposed',
      gatewayId: gw.gatewayId,
      key: `port-${ev.port}`,
      evidence,
      advice: adviceFor('exposed', {
        port: ev.port,
        protocol: ev.protocol.toUpperCase(),
        ...(camera?.name ? { cameraName: camera.name } : {}),
      }),
      source: 'hub',
    };
    if (camera) obs.cameraId = camera.id;
    return obs;
  }

  /** A camera answering on its own global IPv6 address: that camera is exposed, no attribution needed. */
  #v6Observation(gw: MonitoredGateway, camera: MonitoredCamera, ev: ProbeEvidence): FlagObservation {
    return {
      kind: 'exposed',
      gatewayId: gw.gatewayId,
      cameraId: camera.id,
      key: `ipv6-port-${ev.port}`,
      evidence: [
        toEvidence(ev),
        {
          host: ev.host,
          port: ev.port,
          protocol: 'attribution',
          detail: `camera ${camera.id}: answered on its own global IPv6 address`,
          at: ev.at,
        },
      ],
      advice: adviceFor('exposed', {
        port: ev.port,
        protocol: `${ev.protocol.toUpperCase()} over IPv6`,
        ...(camera.name ? { cameraName: camera.name } : {}),
      }),
      source: 'hub',
    };
  }

  #schedule(gatewayId: string): void {
    const e = this.#entries.get(gatewayId);
    if (!e || this.#state !== 'running') return;
    clearTimeout(e.timer);
    const factor = 1 + this.#o.jitter * (2 * this.#o.random() - 1);
    e.timer = setTimeout(
      () => {
        e.timer = undefined;
        this.scanNow(gatewayId)
          .catch((err: unknown) => {
            if (this.#state !== 'running' || this.#entries.get(gatewayId) !== e) return;
            this.#log.warn('scheduled exposure scan failed', { gatewayId, error: err });
            this.emit('error', err instanceof Error ? err : new Error(String(err)));
          })
          .finally(() => this.#schedule(gatewayId));
      },
      Math.round(this.#o.intervalMs * factor),
    );
    e.timer.unref();
  }
}

function checkGateway(gw: MonitoredGateway, defaults: readonly number[]): number[] {
  if (!gw || typeof gw.gatewayId !== 'string' || gw.gatewayId === '')
    throw new TypeError('gatewayId must be a non-empty string');
  validateTarget(gw.target);
  if (!Array.isArray(gw.cameras)) throw new TypeError(`cameras must be an array, got ${typeof gw.cameras}`);
  const extra: number[] = [];
  for (const [i, c] of gw.cameras.entries()) {
    if (!c || typeof c.id !== 'string' || c.id === '')
      throw new TypeError(`cameras[${i}].id must be a non-empty string`);
    if (c.ports !== undefined) extra.push(...validatePorts(c.ports));
    for (const [j, a] of (c.addresses ?? []).entries())
      if (!isGlobalIpv6(a)) throw new RangeError(`cameras[${i}].addresses[${j}] must be a global IPv6 address`);
  }
  // The cameras' service ports are scanned on top of the gateway's list (or the defaults).
  return validatePorts([...(gw.ports ?? defaults), ...extra]);
}

/** One observation per flag id: a camera with two addresses open on one port is one flag with both as evidence. */
function mergeByKey(obs: FlagObservation[]): FlagObservation[] {
  const byKey = new Map<string, FlagObservation>();
  for (const o of obs) {
    const k = `${o.cameraId ?? ''}|${o.key ?? ''}`;
    const prev = byKey.get(k);
    if (prev) prev.evidence.push(...o.evidence);
    else byKey.set(k, o);
  }
  return [...byKey.values()];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
