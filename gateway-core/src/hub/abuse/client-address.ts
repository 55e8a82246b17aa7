/**
 * Which address a request comes from. The socket's peer address, unless the
 * peer is one of the configured `trustedProxies`: then the forwarded chain is
 * read from the right (each proxy appends the address it received the request
 * from, so entries left of the first untrusted hop can be written by the
 * client and are never believed) — `X-Forwarded-For` by default, or
 * `Forwarded` (RFC 7239 §5.2) when the proxy writes that one. Only one header
 * is read: reading both would let a client forge the one the proxy does not
 * set.
 */
import type { IncomingMessage } from 'node:http';
import { BlockList, isIP } from 'node:net';
import { normalizeAddress } from '../../util/index.js';

export type ForwardedHeader = 'x-forwarded-for' | 'forwarded';

export interface ClientAddressOptions {
  /** Proxies whose forwarded header is believed: addresses or CIDR ranges (`10.0.0.0/8`, `fd00::/8`). */
  trustedProxies?: readonly string[];
  /** The header those proxies write. */
  forwardedHeader?: ForwardedHeader;
}

export const DEFAULT_CLIENT_ADDRESS_OPTIONS = {
  trustedProxies: [] as readonly string[],
  forwardedHeader: 'x-forwarded-for' as ForwardedHeader,
};

/** Longest forwarded header read; a longer one is cut (its right end, the part proxies write, is kept). */
const MAX_FORWARDED_CHARS = 4096;
/** Most hops walked through. */
const MAX_HOPS = 32;

/** Parses `trustedProxies` into a BlockList; throws TypeError naming the bad entry. */
export function parseTrustedProxies(list: readonly string[], option = 'trustedProxies'): BlockList {
  if (!Array.isArray(list)) throw new TypeError(`hub option ${option}: must be a list of addresses or CIDR ranges`);
  const bl = new BlockList();
  list.forEach((entry, i) => {
    const m = typeof entry === 'string' ? /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry.trim()) : null;
    const addr = m ? normalizeAddress(m[1]) : '';
    const family = isIP(addr);
    const prefix = m?.[2] === undefined ? undefined : Number(m[2]);
    if (family === 0 || (prefix !== undefined && prefix > (family === 4 ? 32 : 128))) {
      throw new TypeError(
        `hub option ${option}[${i}]: ${JSON.stringify(entry)} is not allowed (an IPv4/IPv6 address or CIDR range)`,
      );
    }
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) bl.addAddress(addr, type);
    else bl.addSubnet(addr, prefix, type);
  });
  return bl;
}

export class ClientAddressResolver {
  readonly #trusted: BlockList;
  readonly #any: boolean;
  readonly #header: ForwardedHeader;

  constructor(opts: ClientAddressOptions = {}) {
    const list = opts.trustedProxies ?? DEFAULT_CLIENT_ADDRESS_OPTIONS.trustedProxies;
    this.#trusted = parseTrustedProxies(list);
    this.#any = list.length > 0;
    const header = opts.forwardedHeader ?? DEFAULT_CLIENT_ADDRESS_OPTIONS.forwardedHeader;
    if (header !== 'x-forwarded-for' && header !== 'forwarded') {
      throw new TypeError(
        `hub option forwardedHeader: ${String(header)} is not allowed ('x-forwarded-for' or 'forwarded')`,
      );
    }
    this.#header = header;
  }

  /** Whether `address` is one of the trusted proxies. */
  isTrusted(address: string | undefined): boolean {
    if (!this.#any || !address) return false;
    const a = normalizeAddress(address);
    const family = isIP(a);
    return family !== 0 && this.#trusted.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }

  /** The client's address: the first untrusted hop from the right, or the socket's peer. */
  resolve(req: IncomingMessage): string {
    const peer = normalizeAddress(req.socket.remoteAddress);
    if (!this.isTrusted(peer)) return peer;
    const raw = req.headers[this.#header];
    const text = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).slice(-MAX_FORWARDED_CHARS);
    const hops = (this.#header === 'forwarded' ? forwardedFor(text) : text.split(',')).slice(-MAX_HOPS);
    let last = peer;
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(stripPort(hops[i]!.trim()));
      // A hop that is not an address (`unknown`, an obfuscated name, garbage) ends the walk: nothing left of it is believed.
      if (isIP(hop) === 0) return last;
      if (!this.isTrusted(hop)) return hop;
      last = hop;
    }
    return last;
  }
}

/** The `for=` values of a Forwarded header, in order (RFC 7239 §4, §6). */
function forwardedFor(text: string): string[] {
  const out: string[] = [];
  for (const element of text.split(',')) {
    const pair = element
      .split(';')
      .map((p) => p.trim())
      .find((p) => p.toLowerCase().startsWith('for='));
    out.push(pair ? pair.slice(4).replace(/^"(.*)"$/, '$1') : '');
  }
  return out;
}

/** `[2001:db8::1]:4711` → `2001:db8::1`; `192.0.2.1:80` → `192.0.2.1`; a bare address is returned as is. */
function stripPort(hop: string): string {
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(hop);
  if (v6) return v6[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(hop);
  return v4 ? v4[1]! : hop;
}
