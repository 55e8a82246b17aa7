import { classifyHost, normalizeAddress } from '../../util/index.js';
import type { ConntrackFlow } from './conntrack.js';
import { DEFAULT_CANARY_PORTS, TELNET_PORTS } from './ports.js';

/**
 * Spots scanning in successive readings of the connection table: a watched
 * source (a camera's address) that opens TCP connections to many distinct
 * addresses on scanner ports within a window, or to any public address on a
 * telnet port. docs/exposure.md "Compromise behaviour" gives the reasoning
 * behind the defaults (what a busy, healthy camera does and never does).
 */

export interface ScanDetectorOptions {
  /** The sliding window, ms. */
  windowMs?: number;
  /** Distinct destination addresses on scanner ports within the window that make a scan. */
  distinctDestinations?: number;
  /** The ports counted as scanner ports. */
  scannerPorts?: readonly number[];
  /** Any connection to a public address on one of these ports is a finding on its own. */
  telnetPorts?: readonly number[];
  /** Destinations remembered per source (bounds memory while a camera scans thousands of addresses). */
  maxTrackedPerSource?: number;
}

export const DEFAULT_SCAN_DETECTOR_OPTIONS = {
  windowMs: 60_000, // 1 min; Mirai at 160 SYN/s passes the threshold in well under a second
  distinctDestinations: 16, // addresses; a camera talks to a handful of servers, never on these ports
  scannerPorts: DEFAULT_CANARY_PORTS,
  telnetPorts: TELNET_PORTS,
  maxTrackedPerSource: 4_096, // destinations
} as const;

export interface ScanFinding {
  source: string;
  reason: 'scan' | 'telnet-to-internet';
  /** Distinct destinations on scanner ports seen in the window (for `scan`). */
  destinations: number;
  /** Up to 8 `address:port` examples. */
  examples: string[];
  ports: number[];
}

function positive(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new RangeError(`scan detector option ${name} must be an integer >= 1, got ${String(v)}`);
  return v;
}

function portList(name: string, v: unknown): number[] {
  if (!Array.isArray(v) || v.some((p) => !Number.isInteger(p) || p < 1 || p > 65535))
    throw new RangeError(`scan detector option ${name} must be a list of TCP ports (1-65535)`);
  return v as number[];
}

export class ScanDetector {
  readonly #windowMs: number;
  readonly #threshold: number;
  readonly #scanner: Set<number>;
  readonly #telnet: Set<number>;
  readonly #maxTracked: number;
  /** source → `dst|port` → first seen (ms). */
  readonly #seen = new Map<string, Map<string, number>>();

  constructor(options: ScanDetectorOptions = {}) {
    const d = DEFAULT_SCAN_DETECTOR_OPTIONS;
    this.#windowMs = positive('windowMs', options.windowMs ?? d.windowMs);
    this.#threshold = positive('distinctDestinations', options.distinctDestinations ?? d.distinctDestinations);
    this.#scanner = new Set(portList('scannerPorts', options.scannerPorts ?? d.scannerPorts));
    this.#telnet = new Set(portList('telnetPorts', options.telnetPorts ?? d.telnetPorts));
    this.#maxTracked = positive('maxTrackedPerSource', options.maxTrackedPerSource ?? d.maxTrackedPerSource);
  }

  /**
   * Feeds one reading of the table (flows opened by anyone) and returns findings for the `watched` sources:
   * a scan is reported while it finds new destinations, not again for what earlier readings already showed.
   */
  observe(flows: readonly ConntrackFlow[], watched: ReadonlySet<string>, now = Date.now()): ScanFinding[] {
    const telnetOut = new Map<string, Set<string>>();
    /** Sources with a destination new in this reading: only they are reported (a scan that stopped goes quiet). */
    const fresh = new Set<string>();
    for (const f of flows) {
      if (f.protocol !== 'tcp') continue;
      const src = normalizeAddress(f.src);
      if (!watched.has(src)) continue;
      const dst = normalizeAddress(f.dst);
      if (this.#telnet.has(f.dport) && classifyHost(dst) === 'public') {
        let s = telnetOut.get(src);
        if (!s) telnetOut.set(src, (s = new Set()));
        s.add(`${dst}:${f.dport}`);
      }
      if (!this.#scanner.has(f.dport)) continue;
      let m = this.#seen.get(src);
      if (!m) this.#seen.set(src, (m = new Map()));
      const key = `${dst}|${f.dport}`;
      if (!m.has(key)) {
        if (m.size >= this.#maxTracked) m.delete(m.keys().next().value!);
        m.set(key, now);
        fresh.add(src);
      }
    }
    const out: ScanFinding[] = [];
    for (const [src, m] of this.#seen) {
      for (const [k, t] of m) if (now - t > this.#windowMs) m.delete(k);
      if (m.size === 0) {
        this.#seen.delete(src);
        continue;
      }
      const dsts = new Set<string>();
      const ports = new Set<number>();
      for (const k of m.keys()) {
        const [dst, port] = k.split('|') as [string, string];
        dsts.add(dst);
        ports.add(Number(port));
      }
      if (dsts.size >= this.#threshold && fresh.has(src)) {
        out.push({
          source: src,
          reason: 'scan',
          destinations: dsts.size,
          examples: [...m.keys()].slice(-8).map((k) => k.replace('|', ':')),
          ports: [...ports].sort((a, b) => a - b),
        });
      }
    }
    for (const [src, s] of telnetOut) {
      out.push({
        source: src,
        reason: 'telnet-to-internet',
        destinations: s.size,
        examples: [...s].slice(0, 8),
        ports: [...new Set([...s].map((x) => Number(x.slice(x.lastIndexOf(':') + 1))))].sort((a, b) => a - b),
      });
    }
    return out;
  }
}
