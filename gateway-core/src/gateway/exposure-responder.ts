import { EventEmitter } from 'node:events';
import type { CameraConfig } from '../config/index.js';
import {
  probeFor,
  ATTRIBUTION_REPLY,
  ATTRIBUTION_REQUEST,
  attributeFindings,
  auditUpnp,
  cameraIpv6Addresses,
  parseAttributionRequest,
  readNeighbours,
  type AttributionCamera,
  type AttributionFinding,
  type AttributionMatch,
  type Neighbour,
  type PortMapping,
  type ProbeEvidence,
  type ProbeOptions,
  type UpnpOptions,
} from '../exposure/index.js';
import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import { auditCamera } from './audit-schedule.js';

/** What the responder needs of the `Gateway`: its control messages and its announce. */
export interface ExposureResponderGateway {
  on(e: 'control', fn: (msg: unknown) => void): unknown;
  off(e: 'control', fn: (msg: unknown) => void): unknown;
  sendControl(msg: unknown): void;
  setCameraAddresses(addresses: ReadonlyMap<string, readonly string[]>): void;
  /** Announces that attribution requests are answered (the hub asks only gateways that say so). */
  announceAttribution(on: boolean): void;
}

export interface ExposureResponderOptions {
  gateway: ExposureResponderGateway;
  /** The registered cameras: the only hosts probed. */
  cameras: readonly CameraConfig[];
  /** Where the router's UPnP mappings are read (the LAN audit's settings); `false`: not read. */
  upnp?: false | Omit<UpnpOptions, 'signal'>;
  /** Learn the cameras' global IPv6 addresses and announce them to the hub for the outside monitor. */
  ipv6?: boolean;
  /** Time between reads of the neighbour table, in ms. */
  ipv6IntervalMs?: number;
  /** The neighbour table (`ip neigh show` by default; injectable for tests). */
  readNeighbours?: () => Promise<Neighbour[]>;
  /** Limits of the LAN probes. */
  probe?: Omit<ProbeOptions, 'signal'>;
  logger?: Logger;
}

export const DEFAULT_EXPOSURE_RESPONDER_OPTIONS = {
  ipv6: true, // documented in docs/exposure.md: the hub can only test an address it knows
  ipv6IntervalMs: 5 * 60_000, // 5 min: SLAAC addresses change over hours, a new camera appears within minutes
  maxQueued: 2, // attribution requests waiting behind the running one; more are dropped (the hub times out)
} as const;

export interface ExposureResponderEvents {
  /** An attribution request was answered (the matches sent to the hub). */
  attribution: [{ id: string; matches: AttributionMatch[] }];
  /** The cameras' global IPv6 addresses were read (what is announced). */
  addresses: [Map<string, string[]>];
  /** A request from the hub was refused (malformed, too many). */
  rejected: [{ reason: string }];
}

/**
 * The gateway's part of exposure attribution: answers the hub's
 * `exposure-attribute` requests by probing its own cameras with the hub's
 * probes and reading the router's UPnP mappings, and replies with camera ids
 * and match methods only. It also keeps the announce's IPv6 addresses current.
 */
export class ExposureResponder extends EventEmitter<ExposureResponderEvents> {
  readonly #o: ExposureResponderOptions;
  readonly #log: Logger;
  readonly #cameras: AttributionCamera[];
  readonly #abort = new AbortController();
  #queue: Promise<void> = Promise.resolve();
  #queued = 0;
  #timer: NodeJS.Timeout | undefined;
  #state = 'idle' as 'idle' | 'running' | 'closed';
  readonly #onControl = (msg: unknown): void => {
    if ((msg as { type?: unknown } | null)?.type === ATTRIBUTION_REQUEST) this.#enqueue(msg);
  };

  constructor(opts: ExposureResponderOptions) {
    super();
    if (!opts?.gateway || typeof opts.gateway.sendControl !== 'function')
      throw new TypeError('ExposureResponder option gateway must have sendControl()');
    if (!Array.isArray(opts.cameras)) throw new TypeError('ExposureResponder option cameras must be an array');
    const ms = opts.ipv6IntervalMs ?? DEFAULT_EXPOSURE_RESPONDER_OPTIONS.ipv6IntervalMs;
    if (!Number.isInteger(ms) || ms < 1000)
      throw new RangeError(`ExposureResponder option ipv6IntervalMs must be an integer >= 1000 (ms), got ${ms}`);
    this.#o = opts;
    this.#log = opts.logger ?? defaultLogger('gateway:exposure');
    this.#cameras = opts.cameras.map((c) => {
      const a = auditCamera(c);
      return { id: c.id, host: a.host, ports: [...new Set([a.rtsp?.port ?? 554, ...(c.ports ?? [])])] };
    });
  }

  /** Starts answering the hub and, unless `ipv6: false`, learning the cameras' IPv6 addresses now and on a schedule. */
  start(): void {
    if (this.#state !== 'idle') return;
    this.#state = 'running';
    this.#o.gateway.on('control', this.#onControl);
    this.#o.gateway.announceAttribution(true);
    if (this.#o.ipv6 ?? DEFAULT_EXPOSURE_RESPONDER_OPTIONS.ipv6) this.#learnScheduled();
  }

  /** Reads the neighbour table now and updates the announce; resolves what is announced. */
  async learnIpv6Now(): Promise<Map<string, string[]>> {
    if (this.#state === 'closed') throw new CamgateError('CAMGATE_EXPOSURE_CLOSED', 'exposure responder is closed');
    const neighbours = await (this.#o.readNeighbours ?? (() => readNeighbours()))();
    const found = cameraIpv6Addresses(this.#cameras, neighbours);
    if (this.#isClosed()) return found;
    this.#o.gateway.setCameraAddresses(found);
    this.emit('addresses', found);
    return found;
  }

  /** Answers one request (the control handler calls this; tests may too). Resolves the matches sent. */
  async answer(msg: unknown): Promise<AttributionMatch[] | undefined> {
    let req;
    try {
      req = parseAttributionRequest(msg);
    } catch (err) {
      this.#refuse((err as Error).message);
      return undefined;
    }
    const mappings = await this.#mappings();
    const matches = await attributeFindings(req.findings, this.#cameras, {
      mappings,
      probe: (host, port, protocol) => this.#probe(host, port, protocol),
    });
    if (this.#isClosed()) return undefined;
    // Camera ids and methods only: no LAN address, no credential leaves in the reply.
    this.#o.gateway.sendControl({ type: ATTRIBUTION_REPLY, id: req.id, matches });
    this.#log.info('attributed the hub findings', {
      request: req.id,
      findings: req.findings.length,
      matches: matches.map((m) => `${m.port}:${m.cameraId}:${m.method}`),
    });
    this.emit('attribution', { id: req.id, matches });
    return matches;
  }

  /** Stops answering and learning; safe to call more than once. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    clearTimeout(this.#timer);
    this.#abort.abort();
    this.#o.gateway.off('control', this.#onControl);
    this.#o.gateway.announceAttribution(false);
  }

  /** A method, not a field read: the state changes across the awaits above (TypeScript narrows a field read). */
  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  #enqueue(msg: unknown): void {
    if (this.#queued > DEFAULT_EXPOSURE_RESPONDER_OPTIONS.maxQueued) {
      this.#refuse('too many attribution requests at once');
      return;
    }
    this.#queued++;
    this.#queue = this.#queue
      .then(() => this.answer(msg))
      .catch((err: unknown) => this.#log.warn('attribution failed', { error: err }))
      .finally(() => void this.#queued--)
      .then(() => undefined);
  }

  #refuse(reason: string): void {
    this.#log.warn('refused an attribution request from the hub', { reason });
    this.emit('rejected', { reason });
  }

  async #mappings(): Promise<PortMapping[]> {
    if (this.#o.upnp === false) return [];
    try {
      return (await auditUpnp('attribution', [], { ...this.#o.upnp, signal: this.#abort.signal })).mappings;
    } catch (err) {
      this.#log.debug('UPnP mappings not read; attributing by probes only', { error: err });
      return [];
    }
  }

  #probe(host: string, port: number, protocol: AttributionFinding['protocol']): Promise<ProbeEvidence> {
    return probeFor(host, port, protocol, { ...this.#o.probe, signal: this.#abort.signal });
  }

  #learnScheduled(): void {
    this.#timer = undefined;
    this.learnIpv6Now()
      .catch((err: unknown) => this.#log.warn('could not read the neighbour table', { error: err }))
      .finally(() => {
        if (this.#state !== 'running') return;
        const ms = this.#o.ipv6IntervalMs ?? DEFAULT_EXPOSURE_RESPONDER_OPTIONS.ipv6IntervalMs;
        this.#timer = setTimeout(() => this.#learnScheduled(), ms);
        this.#timer.unref();
      });
  }
}
