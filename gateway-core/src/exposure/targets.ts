import net from 'node:net';
import { CamgateError } from '../util/index.js';

/** The protocol a built-in probe speaks on a port. */
export type ProbeProtocol = 'rtsp' | 'http' | 'https' | 'telnet' | 'tcp';

/**
 * Ports cameras are found on, with the probe for each. Vendor ports get a
 * plain TCP probe: their protocols are proprietary binary.
 */
export const DEFAULT_PORT_PROTOCOLS: Readonly<Record<number, ProbeProtocol>> = Object.freeze({
  554: 'rtsp', // RFC 2326 §3.2 default
  8554: 'rtsp', // common alternate
  80: 'http',
  8080: 'http',
  443: 'https',
  8443: 'https',
  23: 'telnet', // RFC 854; Mirai's first door
  2323: 'telnet', // Mirai also tries 2323
  8000: 'tcp', // Hikvision SDK
  37777: 'tcp', // Dahua
  34567: 'tcp', // XMeye / Xiongmai
});

/** The default port set, in a stable order. */
export const DEFAULT_EXPOSURE_PORTS: readonly number[] = Object.freeze([
  554, 8554, 80, 8080, 443, 8443, 23, 2323, 8000, 37777, 34567,
]);

/** The probe for `port`, from `overrides` then the defaults, else plain TCP. */
export function protocolForPort(port: number, overrides: Readonly<Record<number, ProbeProtocol>> = {}): ProbeProtocol {
  return overrides[port] ?? DEFAULT_PORT_PROTOCOLS[port] ?? 'tcp';
}

// One DNS label (RFC 1123 §2.1): letters, digits, inner hyphens, 1–63 chars.
const LABEL = '(?!-)[A-Za-z0-9-]{1,63}(?<!-)';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*\\.?$`);

/**
 * Accepts an IPv4/IPv6 literal or a strict hostname and returns it
 * normalised (IPv4-mapped IPv6 → IPv4, lower case). Anything else — a leading
 * `-`, whitespace, shell metacharacters, brackets, zone ids — throws
 * CAMGATE_EXPOSURE_TARGET_INVALID, so it can never reach a command line.
 */
export function validateTarget(target: unknown): string {
  if (typeof target !== 'string' || target.length === 0 || target.length > 253)
    throw new CamgateError(
      'CAMGATE_EXPOSURE_TARGET_INVALID',
      `target must be a non-empty string of at most 253 characters`,
    );
  const printable = JSON.stringify(target.slice(0, 80));
  if (target.startsWith('-') || !/^[A-Za-z0-9.:-]+$/.test(target))
    throw new CamgateError('CAMGATE_EXPOSURE_TARGET_INVALID', `target ${printable} is not an IP address or hostname`);
  const ipVersion = net.isIP(target);
  if (ipVersion === 4) return target;
  if (ipVersion === 6) {
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(target);
    return mapped ? (mapped[1] as string) : target.toLowerCase();
  }
  if (target.includes(':') || !HOSTNAME.test(target) || /^[\d.]+$/.test(target))
    throw new CamgateError('CAMGATE_EXPOSURE_TARGET_INVALID', `target ${printable} is not an IP address or hostname`);
  return target.toLowerCase().replace(/\.$/, '');
}

/** Validates a port list (integers 1–65535, at least one, at most 1024) and returns it deduplicated and sorted. */
export function validatePorts(ports: unknown): number[] {
  if (!Array.isArray(ports) || ports.length === 0 || ports.length > 1024)
    throw new RangeError(
      `ports must be an array of 1 to 1024 port numbers, got ${Array.isArray(ports) ? ports.length : typeof ports}`,
    );
  for (const p of ports)
    if (!Number.isInteger(p) || p < 1 || p > 65535)
      throw new RangeError(`ports must hold integers from 1 to 65535, got ${String(p)}`);
  return [...new Set(ports as number[])].sort((a, b) => a - b);
}

/** `[80, 554]` → `"80,554"` for nmap's `-p`. */
export function formatPorts(ports: readonly number[]): string {
  return validatePorts(ports).join(',');
}

interface Cidr {
  version: 4 | 6;
  base: bigint;
  bits: number;
}

function ipToBigInt(ip: string): { version: 4 | 6; value: bigint } | undefined {
  const v = net.isIP(ip);
  if (v === 4) return { version: 4, value: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n) };
  if (v !== 6) return undefined;
  const [head = '', tail] = ip.split('::');
  const expand = (s: string): string[] => {
    if (!s) return [];
    const parts = s.split(':');
    const last = parts[parts.length - 1] as string;
    if (last.includes('.')) {
      const n = Number(ipToBigInt(last)?.value ?? 0n);
      parts.splice(-1, 1, ((n >>> 16) & 0xffff).toString(16), (n & 0xffff).toString(16));
    }
    return parts;
  };
  const h = expand(head);
  const t = tail === undefined ? [] : expand(tail);
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return { version: 6, value: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

function parseCidr(entry: string): Cidr | undefined {
  const [addr = '', len] = entry.split('/');
  const ip = ipToBigInt(addr);
  if (!ip) return undefined;
  const max = ip.version === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max || (len !== undefined && !/^\d{1,3}$/.test(len)))
    return undefined;
  const shift = BigInt(max - bits);
  return { version: ip.version, base: (ip.value >> shift) << shift, bits };
}

export interface TargetPolicyOptions {
  /** Addresses, CIDRs (`203.0.113.0/24`) and hostnames from configuration. */
  allow?: readonly string[];
}

/**
 * Scans and probes target only what configuration names or what a tunnel was
 * observed to come from. Everything else is refused before a packet is sent.
 */
export class TargetPolicy {
  readonly #cidrs: { entry: string; cidr: Cidr }[] = [];
  readonly #hostnames = new Set<string>();
  /** Run-time addresses (tunnel peers) → how many registrations hold them. */
  readonly #registered = new Map<string, number>();

  constructor(opts: TargetPolicyOptions = {}) {
    for (const [i, entry] of (opts.allow ?? []).entries()) {
      if (typeof entry !== 'string') throw new TypeError(`allow[${i}] must be a string, got ${typeof entry}`);
      const cidr = parseCidr(entry);
      if (cidr) this.#cidrs.push({ entry, cidr });
      else if (!entry.includes('/')) this.#hostnames.add(validateTargetFor(`allow[${i}]`, entry));
      else throw new RangeError(`allow[${i}] must be an IP address, CIDR or hostname, got ${JSON.stringify(entry)}`);
    }
  }

  /** Allows `address` (an IP literal, e.g. a tunnel's public address) until the matching `unregister()`. */
  register(address: string): void {
    const a = validateTarget(address);
    if (!net.isIP(a))
      throw new CamgateError('CAMGATE_EXPOSURE_TARGET_INVALID', 'only IP addresses are registered at run time');
    this.#registered.set(a, (this.#registered.get(a) ?? 0) + 1);
  }

  unregister(address: string): void {
    const a = validateTarget(address);
    const n = this.#registered.get(a) ?? 0;
    if (n <= 1) this.#registered.delete(a);
    else this.#registered.set(a, n - 1);
  }

  /** True when `target` is valid and allowed. */
  allows(target: string): boolean {
    let t: string;
    try {
      t = validateTarget(target);
    } catch {
      return false;
    }
    if (this.#registered.has(t) || this.#hostnames.has(t)) return true;
    const ip = ipToBigInt(t);
    if (!ip) return false;
    return this.#cidrs.some(({ cidr }) => {
      if (cidr.version !== ip.version) return false;
      const shift = BigInt((cidr.version === 4 ? 32 : 128) - cidr.bits);
      return (ip.value >> shift) << shift === cidr.base;
    });
  }

  /** Returns the normalised target, or throws CAMGATE_EXPOSURE_TARGET_INVALID / _REFUSED. */
  check(target: string): string {
    const t = validateTarget(target);
    if (!this.allows(t))
      throw new CamgateError(
        'CAMGATE_EXPOSURE_TARGET_REFUSED',
        `target ${t} is neither configured nor a registered tunnel address`,
      );
    return t;
  }
}

function validateTargetFor(option: string, entry: string): string {
  try {
    return validateTarget(entry);
  } catch {
    throw new RangeError(`${option} must be an IP address, CIDR or hostname, got ${JSON.stringify(entry)}`);
  }
}
