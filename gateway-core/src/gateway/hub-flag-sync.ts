import { isIP } from 'node:net';
import {
  GATEWAY_FLAG_MESSAGE_LIMITS,
  gatewayFlagMessage,
  gatewayFlagsMessage,
  type Evidence,
  type Flag,
  type FlagStore,
  type FlagTransition,
} from '../alerts/index.js';
import type { CameraConfig } from '../config/index.js';
import { REDACTED, redactString, type Logger } from '../util/index.js';

/** What the sync needs from the tunnel: the `Gateway`. */
export interface HubFlagTunnel {
  sendControl(msg: unknown): void;
  on(e: 'state', fn: (state: string) => void): unknown;
  off(e: 'state', fn: (state: string) => void): unknown;
  /** The tunnel's state now (`connected` sends the snapshot at once). */
  readonly tunnelState?: string;
}

export interface HubFlagSyncOptions {
  /** This gateway's id: only its own flags are sent (a store may mirror others', e.g. over MQTT). */
  gatewayId: string;
  store: Pick<FlagStore, 'on' | 'off' | 'list'>;
  tunnel: HubFlagTunnel;
  /** The registered cameras: their LAN hosts and passwords are removed from everything sent. */
  cameras: readonly Pick<CameraConfig, 'id' | 'url' | 'host' | 'password'>[];
  logger: Logger;
}

/** What replaces a LAN address the sync cannot name a camera for. */
const LAN_ADDRESS_PLACEHOLDER = '[LAN address]';

/**
 * Sends the gateway's OWN flags (source `gateway`: LAN audit, takeover) to the
 * hub over the tunnel's control channel, so the hub's viewer can show them
 * (alerts/flag-messages.ts). Each raise or clear goes as it happens while the
 * tunnel is up; at every (re)connect the current state goes as one snapshot,
 * so what changed while the tunnel was down, or a hub that restarted, is
 * caught up without a queue that grows during an outage.
 *
 * The hub never learns a camera's address or credentials (issue 13): the
 * evidence's `host` becomes a label (`camera ID`, `router`, `gateway`), and
 * every IP literal, camera host name and camera password in banners, details
 * and advice is replaced before the flag leaves the gateway.
 */
export class HubFlagSync {
  readonly #o: HubFlagSyncOptions;
  #closed = false;
  readonly #onTransition = (t: FlagTransition): void => {
    if (!this.#own(t.flag) || this.#o.tunnel.tunnelState !== 'connected') return;
    this.#send(gatewayFlagMessage(flagForHub(t.flag, this.#o.cameras)));
  };
  readonly #onState = (state: string): void => {
    if (state === 'connected') this.sendSnapshot();
  };

  constructor(opts: HubFlagSyncOptions) {
    if (!opts || typeof opts.gatewayId !== 'string' || opts.gatewayId === '')
      throw new TypeError('HubFlagSync option gatewayId must be a non-empty string');
    if (typeof opts.store?.on !== 'function') throw new TypeError('HubFlagSync option store is required');
    if (typeof opts.tunnel?.sendControl !== 'function')
      throw new TypeError('HubFlagSync option tunnel must have sendControl (the Gateway)');
    if (!Array.isArray(opts.cameras)) throw new TypeError('HubFlagSync option cameras must be an array');
    this.#o = opts;
    opts.store.on('transition', this.#onTransition);
    opts.tunnel.on('state', this.#onState);
    if (opts.tunnel.tunnelState === 'connected') this.sendSnapshot();
  }

  /** Sends the current state of the gateway's own flags (raised and recently cleared). */
  sendSnapshot(): void {
    if (this.#closed) return;
    const flags = this.#o.store.list().filter((f) => this.#own(f));
    this.#send(gatewayFlagsMessage(flags.map((f) => flagForHub(f, this.#o.cameras))));
  }

  /** Found by this gateway about itself: the hub refuses anything else (and the hub knows its own flags). */
  #own(f: Flag): boolean {
    return f.source === 'gateway' && f.gatewayId === this.#o.gatewayId;
  }

  #send(msg: unknown): void {
    try {
      this.#o.tunnel.sendControl(msg);
    } catch (err) {
      // Closed, or the control queue is full: the snapshot at the next connect carries the state.
      this.#o.logger.warn('could not send a flag to the hub', { error: err });
    }
  }

  /** Stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.store.off('transition', this.#onTransition);
    this.#o.tunnel.off('state', this.#onState);
  }
}

/**
 * A copy of `flag` safe to give the hub: LAN addresses, camera host names and
 * camera passwords removed from its texts, evidence cut to the newest
 * GATEWAY_FLAG_MESSAGE_LIMITS.evidenceItems. Id, kind, camera id and key stay
 * (ids and keys never hold addresses; camera ids are announced anyway).
 */
export function flagForHub(flag: Flag, cameras: HubFlagSyncOptions['cameras']): Flag {
  const scrub = scrubber(cameras);
  const label = (e: Evidence): string =>
    e.protocol === 'upnp' ? 'router' : flag.cameraId !== undefined ? `camera ${flag.cameraId}` : 'gateway';
  const evidence = flag.evidence.slice(-GATEWAY_FLAG_MESSAGE_LIMITS.evidenceItems).map((e) => {
    const out: Evidence = { host: label(e), at: e.at };
    if (e.port !== undefined) out.port = e.port;
    if (e.protocol !== undefined) out.protocol = scrub(e.protocol);
    if (e.banner !== undefined) out.banner = scrub(e.banner);
    if (e.detail !== undefined) out.detail = scrub(e.detail);
    return out;
  });
  return { ...flag, evidence, advice: scrub(flag.advice) };
}

/**
 * IPv6 literals (with an optional zone): hex groups around at least two colons.
 * Replaced only with `::` or three colons or more, so a clock time (`12:30:45`)
 * stays readable; a MAC address (five colons) goes too, which is fine.
 */
const IPV6ISH = /[0-9a-f.]*(?::[0-9a-f.]*){2,}(?:%[\w.-]+)?/gi;
const IPV4 = /\b(?:\d{1,3}\.){3}\d{1,3}\b/g;

function scrubber(cameras: HubFlagSyncOptions['cameras']): (s: string) => string {
  const ips = new Map<string, string>(); // IP literal (lower case) → `camera ID`
  const names: [string, string][] = []; // host names
  const secrets: string[] = [];
  for (const c of cameras) {
    let urlHost: string | undefined;
    try {
      urlHost = new URL(c.url).hostname.replace(/^\[|\]$/g, '');
    } catch {
      urlHost = undefined;
    }
    for (const h of [c.host, urlHost]) {
      if (!h) continue;
      if (isIP(h)) ips.set(h.toLowerCase(), `camera ${c.id}`);
      else names.push([h.toLowerCase(), `camera ${c.id}`]);
    }
    if (c.password) secrets.push(c.password);
  }
  // Longest first, so `cam1.lan` is not half-replaced by a camera whose host is `cam1`.
  names.sort((a, b) => b[0].length - a[0].length);
  const ipName = (literal: string): string => {
    const bare = literal.replace(/%.*$/, '').toLowerCase();
    const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(bare)?.[1]; // RFC 4291 §2.5.5.2
    return ips.get(bare) ?? (mapped ? ips.get(mapped) : undefined) ?? LAN_ADDRESS_PLACEHOLDER;
  };
  return (s) => {
    // redactString skips values under 6 characters (they would hit ordinary words in logs); a short camera
    // password is still a password, and over-redacting a banner costs nothing here.
    let out = redactString(s);
    for (const secret of secrets) if (secret.length >= 4) out = out.split(secret).join(REDACTED);
    // Addresses in one pass each, before names: a replacement is never read again as an address.
    out = out.replace(IPV6ISH, (m) => (m.includes('::') || (m.match(/:/g) ?? []).length >= 3 ? ipName(m) : m));
    out = out.replace(IPV4, (m) => ipName(m));
    for (const [host, name] of names) out = replaceAllCaseless(out, host, name);
    return out;
  };
}

function replaceAllCaseless(s: string, needle: string, by: string): string {
  if (needle === '') return s;
  const lower = s.toLowerCase();
  let out = '';
  let from = 0;
  for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, from)) {
    out += s.slice(from, i) + by;
    from = i + needle.length;
  }
  return out + s.slice(from);
}
