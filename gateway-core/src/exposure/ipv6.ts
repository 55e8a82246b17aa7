/**
 * Cameras' global IPv6 addresses. With IPv6 there is no NAT: a camera with a
 * global address is reachable from the internet as soon as the router's IPv6
 * firewall lets a packet through — no port forward needed. The hub can only
 * try an address it knows, so the gateway learns its cameras' global
 * addresses (the neighbour table: the camera's MAC address from its IPv4
 * neighbour entry, then every IPv6 neighbour with the same MAC) and announces
 * those, and only those (docs/exposure.md "IPv6").
 */
import { execFile } from 'node:child_process';
import net from 'node:net';
import { CamgateError, classifyHost } from '../util/index.js';

/** Limits on what is learned and announced. */
export const IPV6_LIMITS = {
  perCamera: 4, // addresses: SLAAC gives one stable and a few temporary ones
  perGateway: 64, // addresses the hub accepts from one gateway
  neighbours: 4096, // neighbour lines parsed
} as const;

/**
 * True for a global unicast IPv6 address (2000::/3, RFC 4291 §2.4) that
 * `util/host-class.ts` calls public — never loopback, unspecified, link-local,
 * unique local (fc00::/7), multicast, IPv4-mapped or NAT64. Zone ids and
 * brackets are refused: only a bare literal is an address to announce.
 */
export function isGlobalIpv6(addr: unknown): addr is string {
  if (typeof addr !== 'string' || addr.length > 45 || !net.isIPv6(addr) || addr.includes('%')) return false;
  if (classifyHost(addr) !== 'public') return false;
  const head = addr.split(':')[0] ?? '';
  if (head === '') return false; // `::…` compressions start with zeros: outside 2000::/3
  const first = parseInt(head, 16);
  return (first & 0xe000) === 0x2000;
}

/** One neighbour table entry (`ip neigh show`, iproute2). */
export interface Neighbour {
  address: string;
  dev: string;
  /** Link-layer address, lower case; absent for INCOMPLETE/FAILED entries. */
  lladdr?: string;
  state: string;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const DEV = /^[A-Za-z0-9_.@-]{1,32}$/;

/**
 * Parses `ip neigh show` output: `ADDR dev IF [lladdr MAC] [router] STATE`.
 * Lines that do not fit are skipped; at most IPV6_LIMITS.neighbours lines.
 */
export function parseNeighbours(text: string): Neighbour[] {
  const out: Neighbour[] = [];
  for (const line of text.split('\n').slice(0, IPV6_LIMITS.neighbours)) {
    const w = line.trim().split(/\s+/);
    const address = w[0] ?? '';
    if (!net.isIP(address)) continue;
    const devAt = w.indexOf('dev');
    const dev = devAt > 0 ? w[devAt + 1] : undefined;
    if (!dev || !DEV.test(dev)) continue;
    const llAt = w.indexOf('lladdr');
    const ll = llAt > 0 ? w[llAt + 1]?.toLowerCase() : undefined;
    const n: Neighbour = { address: address.toLowerCase(), dev, state: w[w.length - 1] ?? '' };
    if (ll && MAC.test(ll)) n.lladdr = ll;
    out.push(n);
  }
  return out;
}

export interface ReadNeighboursOptions {
  /** The iproute2 binary. */
  ipPath?: string;
  /** Deadline per `ip` run, in ms. */
  timeoutMs?: number;
}

export const DEFAULT_READ_NEIGHBOURS_OPTIONS = {
  ipPath: 'ip',
  timeoutMs: 5_000, // 5 s
} as const;

/** Runs `ip -4 neigh show` and `ip -6 neigh show` (argument arrays, bounded output). */
export async function readNeighbours(opts: ReadNeighboursOptions = {}): Promise<Neighbour[]> {
  const ipPath = opts.ipPath ?? DEFAULT_READ_NEIGHBOURS_OPTIONS.ipPath;
  const timeout = opts.timeoutMs ?? DEFAULT_READ_NEIGHBOURS_OPTIONS.timeoutMs;
  const run = (family: '-4' | '-6'): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile(ipPath, [family, 'neigh', 'show'], { timeout, maxBuffer: 1024 * 1024 }, (err, stdout) => {
        if (err)
          reject(new CamgateError('CAMGATE_EXPOSURE_NEIGHBOURS', `ip ${family} neigh show failed: ${err.message}`));
        else resolve(stdout);
      });
    });
  const [v4, v6] = await Promise.all([run('-4'), run('-6')]);
  return [...parseNeighbours(v4), ...parseNeighbours(v6)];
}

/**
 * Each camera's global IPv6 addresses: its configured host when that is one,
 * and every IPv6 neighbour sharing the MAC address of the camera's IPv4
 * neighbour entry. At most IPV6_LIMITS.perCamera per camera, sorted.
 */
export function cameraIpv6Addresses(
  cameras: readonly { id: string; host: string }[],
  neighbours: readonly Neighbour[],
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const c of cameras) {
    const host = c.host.replace(/^\[|\]$/g, '').toLowerCase();
    const found = new Set<string>();
    if (isGlobalIpv6(host)) found.add(host);
    const macs = new Set(
      neighbours.filter((n) => n.address === host && n.lladdr !== undefined).map((n) => n.lladdr as string),
    );
    for (const n of neighbours) {
      if (n.lladdr !== undefined && macs.has(n.lladdr) && isGlobalIpv6(n.address) && n.state !== 'FAILED')
        found.add(n.address);
    }
    const list = [...found].sort().slice(0, IPV6_LIMITS.perCamera);
    if (list.length > 0) out.set(c.id, list);
  }
  return out;
}
