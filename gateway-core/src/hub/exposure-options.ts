import { DEFAULT_EXPOSURE_PORTS, validatePorts, validateTarget, type ProbeProtocol } from '../exposure/index.js';
import type { GatewayDirectory } from './gateway-directory.js';

// The hub's `exposure:` configuration: its defaults and its validation (ExposureService is in exposure-service.ts).

/** The hub's `exposure` configuration (hub config file, `exposure:`). */
export interface ExposureServiceConfig {
  /** Time between scheduled scans of one gateway, in ms (jittered ±10 %). */
  intervalMs?: number;
  /** Ports probed on each home's public address. */
  ports?: number[];
  /** Clean scans before a raised `exposed` flag clears. */
  clearAfterCleanScans?: number;
  /** The hub's flag store (append-only JSONL); in memory when unset. */
  flagsFile?: string;
  /** `auto`: nmap when installed, else the built-in probes. */
  engine?: 'auto' | 'builtin' | 'nmap';
  /** Scan a gateway as soon as its tunnel comes online (besides the schedule). */
  scanOnConnect?: boolean;
  /** Probe protocol for ports outside DEFAULT_PORT_PROTOCOLS (e.g. an RTSP forward on 10554). */
  portProtocols?: Record<number, ProbeProtocol>;
  /** How long the hub waits for a gateway to attribute a scan's open ports to cameras, in ms. */
  attributionTimeoutMs?: number;
  /** Scan the global IPv6 addresses gateways announce for their cameras. */
  ipv6?: boolean;
}

export const DEFAULT_EXPOSURE_SERVICE_OPTIONS = {
  intervalMs: 15 * 60_000, // 15 min: Mirai-class scanners find an open port within minutes to hours; probing more often costs the home bandwidth for little gain
  ports: DEFAULT_EXPOSURE_PORTS,
  clearAfterCleanScans: 2, // scans: one lost probe must not clear a flag
  engine: 'auto',
  scanOnConnect: true,
  attributionTimeoutMs: 30_000, // 30 s: the gateway probes each camera on a few ports, 3 s connect + 3 s read each
  ipv6: true,
  /** Flags resent to a gateway when it comes (back) online, most recent first. */
  maxResend: 256, // flags
} as const;

export type ResolvedOptions = Required<ExposureServiceConfig> & { maxResend: number };

/** The configuration with its defaults filled in; throws on a value out of range. */
export function resolveExposureOptions(opts: ExposureServiceConfig): ResolvedOptions {
  const d = DEFAULT_EXPOSURE_SERVICE_OPTIONS;
  const o = {
    intervalMs: opts.intervalMs ?? d.intervalMs,
    ports: validatePorts([...(opts.ports ?? d.ports)]),
    clearAfterCleanScans: opts.clearAfterCleanScans ?? d.clearAfterCleanScans,
    flagsFile: opts.flagsFile ?? '',
    engine: opts.engine ?? d.engine,
    scanOnConnect: opts.scanOnConnect ?? d.scanOnConnect,
    portProtocols: opts.portProtocols ?? {},
    attributionTimeoutMs: opts.attributionTimeoutMs ?? d.attributionTimeoutMs,
    ipv6: opts.ipv6 ?? d.ipv6,
    maxResend: d.maxResend,
  };
  if (!Number.isInteger(o.attributionTimeoutMs) || o.attributionTimeoutMs < 100)
    throw new RangeError(
      `exposure.attributionTimeoutMs must be an integer >= 100 (ms), got ${String(o.attributionTimeoutMs)}`,
    );
  if (typeof o.ipv6 !== 'boolean') throw new TypeError(`exposure.ipv6 must be a boolean, got ${typeof o.ipv6}`);
  if (!Number.isInteger(o.intervalMs) || o.intervalMs < 1000)
    throw new RangeError(`exposure.intervalMs must be an integer >= 1000 (ms), got ${String(o.intervalMs)}`);
  if (!['auto', 'builtin', 'nmap'].includes(o.engine))
    throw new RangeError(`exposure.engine must be "auto", "builtin" or "nmap", got ${JSON.stringify(o.engine)}`);
  if (typeof o.scanOnConnect !== 'boolean')
    throw new TypeError(`exposure.scanOnConnect must be a boolean, got ${typeof o.scanOnConnect}`);
  return o;
}

/** The gateways' configured public addresses, validated: allowed scan targets from the start. */
export function configuredTargets(directory: Pick<GatewayDirectory, 'list'>): string[] {
  return directory
    .list()
    .flatMap((g) => (g.publicAddress ? [g.publicAddress] : []))
    .map((a, i) => {
      try {
        return validateTarget(a);
      } catch {
        throw new RangeError(`gateways[${i}].publicAddress ${JSON.stringify(a)} is not an IP address or hostname`);
      }
    });
}
