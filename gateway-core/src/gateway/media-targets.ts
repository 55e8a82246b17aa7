/**
 * The gateway's side of the media-target rules (kurento/policy-targets.ts):
 * which TURN/STUN servers the media backend may be pointed at, whether LAN
 * addresses may appear in ICE candidates and SDP, and whether the hub may
 * create RtpEndpoints. These are the gateway's decisions, never the hub's
 * (ARCHITECTURE.md "The hub chooses nothing the home sends traffic to").
 */
import {
  parseMediaTarget,
  parseRelayUri,
  targetListAllows,
  type MediaTarget,
  type MediaTargetRules,
} from '../kurento/index.js';
import { bareHost, classifyHost, type Logger } from '../util/index.js';

export interface GatewayMediaOptions {
  /**
   * TURN/STUN servers the media backend may use, as `host` or `host:port` (`[v6]:port`). When unset: the
   * hub's own host (any port) and the TURN servers the hub advertised when the tunnel connected, except
   * advertised loopback/private/link-local addresses unless `allowLanViewers`.
   */
  mediaTargets?: string[];
  /** Accept ICE candidates and SDP addresses in loopback, private and link-local ranges (viewers at home). */
  allowLanViewers?: boolean;
  /** Let the hub create RtpEndpoints (plain RTP to the SDP's address); the Homebridge plugin does not need it. */
  allowRtpEndpoint?: boolean;
}

export const DEFAULT_GATEWAY_MEDIA_OPTIONS = {
  allowLanViewers: false, // viewers come through TURN from outside; LAN addresses are where scans go
  allowRtpEndpoint: false, // viewing through the hub is WebRTC only
} as const;

/** Most `mediaTargets` entries: a handful of relays, not a network map. */
const MAX_MEDIA_TARGETS = 64;

/** Validates the options and returns the rules the policy consults; `advertised()` gives the hub's latest list. */
export function gatewayMediaRules(
  opts: GatewayMediaOptions,
  hubUrl: string,
  advertised: () => readonly string[],
  log: Logger,
): MediaTargetRules {
  const allowLanViewers = checkBool('allowLanViewers', opts.allowLanViewers, DEFAULT_GATEWAY_MEDIA_OPTIONS);
  const allowRtpEndpoint = checkBool('allowRtpEndpoint', opts.allowRtpEndpoint, DEFAULT_GATEWAY_MEDIA_OPTIONS);
  if (opts.mediaTargets !== undefined) {
    if (!Array.isArray(opts.mediaTargets) || opts.mediaTargets.length > MAX_MEDIA_TARGETS) {
      throw new TypeError(`Gateway option mediaTargets: must be an array of at most ${MAX_MEDIA_TARGETS} hosts`);
    }
    // Explicit entries are the owner's decision and are trusted whatever their range (a TURN server at home).
    const fixed = opts.mediaTargets.map((e, i) => parseMediaTarget(e, `Gateway option mediaTargets[${i}]`));
    return { relayAllowed: (h, p) => targetListAllows(fixed, h, p), allowLanViewers, allowRtpEndpoint };
  }
  // An unparseable hub URL is the tunnel client's error to report (checkHubUrl); until then no hub host.
  const hubHosts: MediaTarget[] = URL.canParse(hubUrl)
    ? [{ host: bareHost(new URL(hubUrl).hostname).toLowerCase(), port: undefined }]
    : [];
  let seen: readonly string[] | undefined;
  let list: MediaTarget[] = hubHosts;
  const current = (): MediaTarget[] => {
    const adv = advertised();
    if (adv === seen) return list;
    seen = adv;
    list = [...hubHosts];
    for (const uri of adv) {
      const t = parseRelayUri(uri);
      const cls = t ? classifyHost(t.host) : 'invalid';
      // The hub chose these: a LAN literal here would be the port scan this rule exists to stop.
      if (!t || (!allowLanViewers && cls !== 'public' && cls !== 'name')) {
        log.warn('ignoring a media relay the hub advertised', { relay: uri.slice(0, 80), range: cls });
        continue;
      }
      list.push(t);
    }
    return list;
  };
  return { relayAllowed: (h, p) => targetListAllows(current(), h, p), allowLanViewers, allowRtpEndpoint };
}

function checkBool(name: string, v: unknown, d: Record<string, boolean>): boolean {
  if (v === undefined) return d[name]!;
  if (typeof v !== 'boolean') throw new TypeError(`Gateway option ${name}: must be true or false, got ${typeof v}`);
  return v;
}
