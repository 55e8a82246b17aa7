import { CamgateError, defaultLogger, type Logger } from '../util/index.js';
import type { ProbeEvidence } from './evidence.js';
import { findNmap, nmapVersion, runNmap, type NmapPort } from './nmap.js';
import { mapLimit } from './probes/connection.js';
import type { ProbeOptions } from './probes/options.js';
import { probeFor } from './probes/probe-for.js';
import { protocolForPort, TargetPolicy, validatePorts, type ProbeProtocol } from './targets.js';

export type ScanEngine = 'nmap' | 'builtin';

export interface ScanResult {
  target: string;
  engine: ScanEngine;
  nmapVersion?: string;
  /** ISO 8601 times. */
  startedAt: string;
  finishedAt: string;
  /** The ports scanned. */
  ports: number[];
  /** Evidence for every port found open, in port order. */
  open: ProbeEvidence[];
}

export interface ScanOptions {
  signal?: AbortSignal;
  /** Force an engine for this scan (benchmarks); `nmap` rejects CAMGATE_EXPOSURE_NMAP_MISSING without nmap. */
  engine?: ScanEngine;
}

export interface ExposureScannerOptions {
  /** Which targets may be scanned. Required: there is no "scan anything" default. */
  policy: TargetPolicy;
  /** `auto` uses nmap when found, else the built-in probes; or force one. */
  engine?: 'auto' | ScanEngine;
  /** nmap binary; found on PATH when omitted; `''` means "no nmap here". */
  nmapPath?: string;
  /** nmap `--host-timeout`, in ms. */
  nmapTimeoutMs?: number;
  /** Pass `-sV --version-light` to nmap. */
  serviceVersion?: boolean;
  /** Probes in flight at once per scan. */
  concurrency?: number;
  /** Per-probe limits (timeouts, read sizes). */
  probe?: Omit<ProbeOptions, 'signal'>;
  /** Probe protocol per port, over DEFAULT_PORT_PROTOCOLS. */
  portProtocols?: Record<number, ProbeProtocol>;
  logger?: Logger;
}

export const DEFAULT_EXPOSURE_SCANNER_OPTIONS = {
  engine: 'auto',
  nmapTimeoutMs: 120_000, // 2 min
  serviceVersion: false,
  concurrency: 8, // probes in flight per scan
} as const;

/** nmap service names that tell us which probe to run on a port we have no mapping for. */
const SERVICE_PROBES: Record<string, ProbeProtocol> = {
  rtsp: 'rtsp',
  'rtsp-alt': 'rtsp',
  http: 'http',
  'http-alt': 'http',
  'http-proxy': 'http',
  https: 'https',
  'https-alt': 'https',
  telnet: 'telnet',
};

type ResolvedScannerOptions = Required<
  Omit<ExposureScannerOptions, 'nmapPath' | 'probe' | 'portProtocols' | 'logger'>
> & {
  probe: Omit<ProbeOptions, 'signal'>;
  portProtocols: Record<number, ProbeProtocol>;
};

/**
 * Finds which of a target's ports are reachable and what answers there: nmap
 * (connect scan) discovers open ports when installed, then the built-in probes
 * collect protocol evidence on those. Without nmap the probes do both.
 */
export class ExposureScanner {
  readonly #opts: ResolvedScannerOptions;
  readonly #log: Logger;
  readonly nmapPath: string | undefined;
  readonly nmapVersion: string | undefined;

  private constructor(
    opts: ExposureScannerOptions,
    nmapPath: string | undefined,
    version: string | undefined,
    log: Logger,
  ) {
    this.#opts = {
      ...DEFAULT_EXPOSURE_SCANNER_OPTIONS,
      ...opts,
      probe: opts.probe ?? {},
      portProtocols: opts.portProtocols ?? {},
    } as ResolvedScannerOptions;
    this.#log = log;
    this.nmapPath = nmapPath;
    this.nmapVersion = version;
  }

  /** Validates options and looks for nmap once. */
  static async create(opts: ExposureScannerOptions): Promise<ExposureScanner> {
    if (!(opts?.policy instanceof TargetPolicy)) throw new TypeError('policy must be a TargetPolicy');
    const engine = opts.engine ?? DEFAULT_EXPOSURE_SCANNER_OPTIONS.engine;
    if (!['auto', 'nmap', 'builtin'].includes(engine))
      throw new RangeError(`engine must be "auto", "nmap" or "builtin", got ${JSON.stringify(engine)}`);
    const concurrency = opts.concurrency ?? DEFAULT_EXPOSURE_SCANNER_OPTIONS.concurrency;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256)
      throw new RangeError(`concurrency must be an integer from 1 to 256, got ${String(concurrency)}`);
    const t = opts.nmapTimeoutMs ?? DEFAULT_EXPOSURE_SCANNER_OPTIONS.nmapTimeoutMs;
    if (!Number.isInteger(t) || t < 1000)
      throw new RangeError(`nmapTimeoutMs must be an integer of at least 1000, got ${String(t)}`);
    const log = opts.logger ?? defaultLogger('exposure:scanner');
    let nmapPath: string | undefined;
    let version: string | undefined;
    if (engine !== 'builtin') {
      nmapPath = opts.nmapPath === '' ? undefined : (opts.nmapPath ?? (await findNmap()));
      if (nmapPath) {
        try {
          version = await nmapVersion(nmapPath);
        } catch (err) {
          if (engine === 'nmap') throw err;
          log.warn('nmap found but unusable; using built-in probes', { nmapPath, error: err });
          nmapPath = undefined;
        }
      } else if (engine === 'nmap') {
        throw new CamgateError(
          'CAMGATE_EXPOSURE_NMAP_MISSING',
          'engine "nmap" was requested but nmap is not installed',
        );
      } else {
        // The one notice line: scans still work, with less port detail.
        log.info('nmap not found; exposure scans use the built-in probes');
      }
    }
    return new ExposureScanner(opts, nmapPath, version, log);
  }

  /** The engine a scan uses unless told otherwise. */
  get engine(): ScanEngine {
    return this.nmapPath ? 'nmap' : 'builtin';
  }

  /**
   * Scans `target` (checked against the policy) on `ports`. Rejects
   * CAMGATE_EXPOSURE_TARGET_REFUSED/_INVALID before any packet, and
   * CAMGATE_EXPOSURE_ABORTED when `signal` fires.
   */
  async scan(target: string, ports: readonly number[], opts: ScanOptions = {}): Promise<ScanResult> {
    const host = this.#opts.policy.check(target);
    const list = validatePorts(ports);
    const engine = opts.engine ?? this.engine;
    if (engine === 'nmap' && !this.nmapPath)
      throw new CamgateError('CAMGATE_EXPOSURE_NMAP_MISSING', 'engine "nmap" was requested but nmap is not available');
    const startedAt = new Date().toISOString();
    let toProbe: { port: number; protocol: ProbeProtocol; nmap?: NmapPort }[];
    if (engine === 'nmap') {
      const run = await runNmap(host, {
        nmapPath: this.nmapPath as string,
        ports: list,
        timeoutMs: this.#opts.nmapTimeoutMs,
        serviceVersion: this.#opts.serviceVersion,
        signal: opts.signal,
      });
      const open = run.hosts.flatMap((h) => h.ports).filter((p) => p.protocol === 'tcp' && p.state === 'open');
      toProbe = open.map((p) => ({ port: p.port, protocol: this.#protocolFor(p.port, p), nmap: p }));
    } else {
      toProbe = list.map((port) => ({ port, protocol: this.#protocolFor(port) }));
    }
    const results = await mapLimit(toProbe, this.#opts.concurrency, async (p) => {
      if (opts.signal?.aborted) throw new CamgateError('CAMGATE_EXPOSURE_ABORTED', 'scan aborted');
      const ev = await this.#probe(host, p.port, p.protocol, opts.signal).catch((err: unknown) => {
        if (err instanceof CamgateError && err.code === 'CAMGATE_PROBE_ABORTED')
          throw new CamgateError('CAMGATE_EXPOSURE_ABORTED', 'scan aborted');
        throw err;
      });
      if (p.nmap) {
        // nmap saw it open; a probe that then failed to connect does not undo that.
        ev.open = true;
        ev.facts = { ...ev.facts, nmapState: p.nmap.state };
        const svc = p.nmap.service;
        if (svc?.name) ev.facts.nmapService = svc.name;
        if (svc?.product) ev.facts.nmapProduct = [svc.product, svc.version].filter(Boolean).join(' ');
      }
      return ev;
    });
    const result: ScanResult = {
      target: host,
      engine,
      startedAt,
      finishedAt: new Date().toISOString(),
      ports: list,
      open: results.filter((e) => e.open),
    };
    if (engine === 'nmap' && this.nmapVersion) result.nmapVersion = this.nmapVersion;
    this.#log.debug('scan finished', { target: host, engine, open: result.open.map((e) => e.port) });
    return result;
  }

  #protocolFor(port: number, nmap?: NmapPort): ProbeProtocol {
    const mapped = protocolForPort(port, this.#opts.portProtocols);
    if (mapped !== 'tcp' || !nmap?.service?.name) return mapped;
    const name = nmap.service.tunnel === 'ssl' && nmap.service.name === 'http' ? 'https' : nmap.service.name;
    return SERVICE_PROBES[name] ?? 'tcp';
  }

  #probe(host: string, port: number, protocol: ProbeProtocol, signal?: AbortSignal): Promise<ProbeEvidence> {
    return probeFor(host, port, protocol, { ...this.#opts.probe, signal });
  }
}
