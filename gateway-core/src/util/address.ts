/**
 * Client addresses as keys for rate limits: one normalised spelling per
 * address, and IPv6 grouped by /64 because one subscriber line is handed a
 * whole /64 (RFC 6177 §2, RFC 7421) and could otherwise rotate through 2^64
 * addresses to escape every per-address limit.
 */
import { isIP } from 'node:net';

/** `::ffff:192.0.2.1` → `192.0.2.1`; other addresses lower-cased; undefined → `unknown`. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return 'unknown';
  const a = address.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(a);
  return mapped ? mapped[1]! : a;
}

/** The key one client's limits are counted under: the IPv4 address, or the IPv6 /64 (`2001:db8:0:1::/64`). */
export function addressKey(address: string | undefined): string {
  const a = normalizeAddress(address);
  if (isIP(a) !== 6) return a;
  const groups = expandIpv6(a);
  return groups ? `${groups.slice(0, 4).join(':')}::/64` : a;
}

/** The eight 16-bit groups of an IPv6 address (hex, no leading zeros), or undefined when it is not one. */
function expandIpv6(a: string): string[] | undefined {
  const zone = a.indexOf('%');
  const addr = zone === -1 ? a : a.slice(0, zone);
  const [head, tail, ...more] = addr.split('::');
  if (more.length > 0) return undefined;
  const part = (s: string | undefined): string[] => (s ? s.split(':') : []);
  let left = part(head);
  let right = part(tail);
  // An embedded IPv4 tail (`::1.2.3.4`) is two groups.
  const last = (tail === undefined ? left : right).at(-1);
  if (last?.includes('.')) {
    const o = last.split('.').map(Number);
    const v4 = [((o[0]! << 8) | o[1]!).toString(16), ((o[2]! << 8) | o[3]!).toString(16)];
    if (tail === undefined) left = [...left.slice(0, -1), ...v4];
    else right = [...right.slice(0, -1), ...v4];
  }
  const missing = 8 - left.length - right.length;
  if (tail === undefined ? missing !== 0 : missing < 0) return undefined;
  const groups = [...left, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...right];
  return groups.map((g) => parseInt(g, 16).toString(16));
}
