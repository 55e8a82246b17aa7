/**
 * One rule for "where is this host?", used everywhere camgate decides whether
 * plain text is acceptable (loopback only) or whether the hub may make the
 * home send traffic to an address (public only, unless the gateway allows
 * LAN viewers). Before this module the loopback test existed in four copies,
 * and the MQTT one (`/^127\./` on the host name) took `127.attacker.example`
 * for loopback.
 *
 * Only IP literals are classified by their digits; a name is a name, whatever
 * it starts with, except `localhost` and `*.localhost`, which RFC 6761 §6.3
 * reserves for loopback. Nothing here resolves DNS.
 */
import { isIP } from 'node:net';

/**
 * - `loopback`: 127.0.0.0/8, ::1, `localhost` (RFC 1122 §3.2.1.3, RFC 4291 §2.5.3, RFC 6761 §6.3).
 * - `private`: RFC 1918 (10/8, 172.16/12, 192.168/16), RFC 6598 shared address space (100.64/10, carrier-grade
 *   NAT), RFC 4193 unique local (fc00::/7), deprecated site-local fec0::/10 (RFC 3879).
 * - `link-local`: 169.254/16 (RFC 3927), fe80::/10 (RFC 4291 §2.5.6).
 * - `special`: addresses nothing should be told to send to: unspecified 0.0.0.0/8 and :: (RFC 1122, RFC 4291
 *   §2.5.2), multicast 224/4 and ff00::/8 (RFC 5771, RFC 4291 §2.7), 240/4 reserved and limited broadcast
 *   (RFC 1112 §4, RFC 919).
 * - `public`: any other IP literal.
 * - `name`: a DNS name (including mDNS `.local` names, RFC 6762) — its address is unknown until resolved.
 * - `invalid`: not a host at all (empty, spaces, a port, a path...).
 */
export type HostClass = 'loopback' | 'private' | 'link-local' | 'special' | 'public' | 'name' | 'invalid';

/** One DNS label (RFC 1123 §2.1): letters, digits, inner hyphens (and `_`, seen in service names), 1–63 chars. */
const LABEL = '(?!-)[A-Za-z0-9_-]{1,63}(?<!-)';
const HOSTNAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})*$`);

/** Strips `[...]` around an IPv6 literal (URL form) and one trailing dot of a name (FQDN form). */
export function bareHost(host: string): string {
  if (host.startsWith('[') && host.endsWith(']')) return host.slice(1, -1);
  return host.endsWith('.') && !host.endsWith('..') ? host.slice(0, -1) : host;
}

function v4Octets(ip: string): number[] {
  return ip.split('.').map(Number);
}

function classifyV4(ip: string): HostClass {
  const [a, b] = v4Octets(ip) as [number, number, number, number];
  if (a === 127) return 'loopback'; // RFC 1122 §3.2.1.3
  if (a === 10) return 'private'; // RFC 1918 §3
  if (a === 172 && b >= 16 && b <= 31) return 'private'; // RFC 1918 §3
  if (a === 192 && b === 168) return 'private'; // RFC 1918 §3
  if (a === 100 && b >= 64 && b <= 127) return 'private'; // RFC 6598 §7: 100.64.0.0/10
  if (a === 169 && b === 254) return 'link-local'; // RFC 3927 §2.1
  if (a === 0) return 'special'; // RFC 1122 §3.2.1.3: "this host on this network"
  if (a >= 224) return 'special'; // 224/4 multicast (RFC 5771), 240/4 reserved, 255.255.255.255 broadcast
  return 'public';
}

/** The 8 16-bit groups of an IPv6 literal (`isIP(ip) === 6` already holds), with an embedded IPv4 tail expanded. */
function v6Groups(ip: string): number[] {
  let s = ip.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (tail) {
    const [a, b, c, d] = v4Octets(tail[1]!) as [number, number, number, number];
    s = `${s.slice(0, -tail[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = s.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const r = rest === undefined || rest === '' ? [] : rest.split(':');
  const fill = rest === undefined ? [] : new Array<string>(8 - h.length - r.length).fill('0');
  return [...h, ...fill, ...r].map((g) => parseInt(g, 16));
}

function classifyV6(ip: string): HostClass {
  const g = v6Groups(ip);
  const zeroUpTo = (n: number): boolean => g.slice(0, n).every((x) => x === 0);
  const embeddedV4 = (): string => `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}`;
  if (zeroUpTo(7) && g[7] === 1) return 'loopback'; // ::1, RFC 4291 §2.5.3
  if (zeroUpTo(8)) return 'special'; // ::, RFC 4291 §2.5.2
  // IPv4-mapped ::ffff:a.b.c.d (RFC 4291 §2.5.5.2) and the deprecated IPv4-compatible ::a.b.c.d (§2.5.5.1):
  // the packet goes to the IPv4 address, so the IPv4 rule applies.
  if (zeroUpTo(5) && (g[5] === 0xffff || g[5] === 0)) return classifyV4(embeddedV4());
  // NAT64 well-known prefix 64:ff9b::/96 (RFC 6052 §2.1) reaches the embedded IPv4 address through a translator.
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyV4(embeddedV4());
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return 'private'; // fc00::/7, RFC 4193 §3.1
  if ((first & 0xffc0) === 0xfe80) return 'link-local'; // fe80::/10, RFC 4291 §2.5.6
  if ((first & 0xffc0) === 0xfec0) return 'private'; // fec0::/10 site-local, deprecated by RFC 3879
  if ((first & 0xff00) === 0xff00) return 'special'; // ff00::/8 multicast, RFC 4291 §2.7
  return 'public';
}

/**
 * Classifies an IP literal (IPv4, IPv6, `[IPv6]`, IPv4-mapped IPv6) or a host
 * name. `127.attacker.example` is a `name`, not loopback: only the digits of
 * a literal decide.
 */
export function classifyHost(host: unknown): HostClass {
  if (typeof host !== 'string' || host.length === 0 || host.length > 255) return 'invalid';
  const h = bareHost(host);
  const family = isIP(h);
  if (family === 4) return classifyV4(h);
  if (family === 6) return classifyV6(h);
  if (host.startsWith('[')) return 'invalid';
  if (!HOSTNAME.test(h)) return 'invalid';
  // A name made only of digits and dots is not a name (RFC 1123 §2.1) but a malformed or shortened IPv4 literal
  // (`127.1`), which some resolvers still expand: refuse to guess.
  if (/^[\d.]+$/.test(h)) return 'invalid';
  const lower = h.toLowerCase();
  if (lower === 'localhost' || lower.endsWith('.localhost')) return 'loopback'; // RFC 6761 §6.3
  return 'name';
}

/** True only for loopback literals and `localhost`: the hosts that plain-text connections may reach by default. */
export function isLoopbackHost(host: unknown): boolean {
  return classifyHost(host) === 'loopback';
}

/**
 * True for IP literals a home network's own hosts use — loopback, private
 * (RFC 1918, RFC 6598, RFC 4193) and link-local (RFC 3927, RFC 4291): what
 * the hub must not make the media backend send to unless the gateway allows
 * LAN viewers.
 */
export function isLanAddress(host: unknown): boolean {
  const c = classifyHost(host);
  return c === 'loopback' || c === 'private' || c === 'link-local';
}

/** True for an mDNS name (RFC 6762 §3: `.local`), as browsers put in host ICE candidates. */
export function isMdnsName(host: unknown): boolean {
  return classifyHost(host) === 'name' && /\.local$/i.test(bareHost(host as string));
}
