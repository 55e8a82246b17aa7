/**
 * Where the hub may make the media backend send traffic. WebRTC and RTP
 * inherently send packets to addresses someone supplies: TURN and STUN
 * servers (`setTurnUrl`, `setStunServerAddress`), remote ICE candidates
 * (`addIceCandidate`, `a=candidate` in SDP) and the SDP connection address
 * (`c=`, where an RtpEndpoint sends its RTP). Unchecked, a hub can make the
 * home open TCP connections to any LAN host:port through a TURN URL with
 * `?transport=tcp` (a port scanner), send UDP anywhere through STUN, and
 * stream a camera at any address through an RtpEndpoint. These checks make
 * those destinations the gateway's decision (docs/kurento-policy.md).
 */
import { bareHost, classifyHost, isMdnsName } from '../util/index.js';
import type { JsonObject } from './jsonrpc.js';
import { PolicyDenied } from './policy-denied.js';

/** The gateway's decisions about media destinations, consulted on every request that names one. */
export interface MediaTargetRules {
  /**
   * Whether the media backend may use a TURN/STUN server at `host` (`undefined`: any host, when only a port is
   * set) and `port` (`undefined`: any port, when only an address is set). Called at check time: the default
   * list follows what the hub advertised on its latest connection.
   */
  relayAllowed(host: string | undefined, port: number | undefined): boolean;
  /** Accept ICE candidates and SDP addresses in loopback, private and link-local ranges (viewers on the LAN). */
  allowLanViewers: boolean;
  /** Accept `create RtpEndpoint` (an RTP stream to an address in the SDP the hub supplies). */
  allowRtpEndpoint: boolean;
}

/** Refuses every relay, LAN address and RtpEndpoint: what a policy built without the gateway's rules does. */
export const STRICT_MEDIA_TARGET_RULES: MediaTargetRules = Object.freeze({
  relayAllowed: () => false,
  allowLanViewers: false,
  allowRtpEndpoint: false,
});

/** One allow-list entry: a host (name or IP literal, normalised) and, optionally, one port. */
export interface MediaTarget {
  host: string;
  port: number | undefined;
}

const PORT = /^[1-9][0-9]{0,4}$/;

function normaliseHost(host: string): string {
  return bareHost(host).toLowerCase();
}

function parsePort(s: string | undefined, where: string): number | undefined {
  if (s === undefined) return undefined;
  const n = PORT.test(s) ? Number(s) : NaN;
  if (!(n >= 1 && n <= 65_535)) throw new RangeError(`${where}: port ${JSON.stringify(s)} is not 1..65535`);
  return n;
}

/**
 * Parses `host`, `host:port`, `[v6]` or `[v6]:port` (a `mediaTargets`
 * entry). Throws TypeError/RangeError naming `where`.
 */
export function parseMediaTarget(entry: unknown, where = 'mediaTargets'): MediaTarget {
  if (typeof entry !== 'string' || entry.length === 0 || entry.length > 300) {
    throw new TypeError(`${where}: must be "host" or "host:port", got ${JSON.stringify(entry)}`);
  }
  const m = /^(\[[^\]]+\]|[^:[\]]+)(?::([^:]*))?$/.exec(entry);
  const cls = m ? classifyHost(m[1]) : 'invalid';
  if (!m || cls === 'invalid' || cls === 'special' || (m[1]!.startsWith('[') && !m[1]!.includes(':'))) {
    throw new TypeError(
      `${where}: ${JSON.stringify(entry.slice(0, 80))} is not "host" or "host:port" (IPv6 in brackets)`,
    );
  }
  return { host: normaliseHost(m[1]!), port: parsePort(m[2], where) };
}

/**
 * Host and port of a STUN/TURN URI as hubs advertise them (RFC 7064 §3.1
 * `stun:`/`stuns:`, RFC 7065 §3 `turn:`/`turns:`, optional `?transport=`).
 * Undefined when `url` is not one.
 */
export function parseRelayUri(url: unknown): MediaTarget | undefined {
  if (typeof url !== 'string' || url.length > 300) return undefined;
  const m =
    /^(stuns?|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]{1,253})(?::(\d{1,5}))?(?:\?transport=(?:udp|tcp))?$/.exec(url);
  if (!m) return undefined;
  const cls = classifyHost(m[2]);
  if (cls === 'invalid' || cls === 'special') return undefined;
  const secure = m[1]!.endsWith('s');
  // RFC 7064 §3.1 / RFC 7065 §3: 3478 by default, 5349 for the TLS schemes.
  const port = m[3] === undefined ? (secure ? 5349 : 3478) : Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  return { host: normaliseHost(m[2]!), port };
}

/** Whether `list` allows `host` (undefined: any) on `port` (undefined: any). */
export function targetListAllows(
  list: readonly MediaTarget[],
  host: string | undefined,
  port: number | undefined,
): boolean {
  const h = host === undefined ? undefined : normaliseHost(host);
  return list.some(
    (t) => (h === undefined || t.host === h) && (port === undefined || t.port === undefined || t.port === port),
  );
}

/**
 * `setTurnUrl`'s value, KMS format `user:password@host[:port][?transport=udp|tcp|tls]`
 * (elements.kmd.json, WebRtcEndpoint.turnUrl), checked against the relays
 * the gateway allows. The empty string (no TURN) is always allowed. A refusal
 * names the host only: the URL carries a credential.
 */
export function checkTurnUrl(value: unknown, media: MediaTargetRules): void {
  if (typeof value !== 'string' || value.length > 1024) {
    throw new PolicyDenied('param-invalid', 'turnUrl: must be a string of at most 1024');
  }
  if (value === '') return;
  const at = value.lastIndexOf('@');
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]{1,253})(?::(\d{1,5}))?(?:\?transport=(udp|tcp|tls))?$/.exec(
    value.slice(at + 1),
  );
  if (at <= 0 || !m) {
    throw new PolicyDenied('param-invalid', 'turnUrl: must be user:password@host:port[?transport=udp|tcp|tls]');
  }
  const host = m[1]!;
  // Kurento's default TURN port is 3478 whatever the transport (elements.kmd.json).
  const port = m[2] === undefined ? 3478 : Number(m[2]);
  if (!media.relayAllowed(host, port)) {
    throw new PolicyDenied('target-not-allowed', `TURN server ${hostDetail(host)}:${port} is not allowed`);
  }
}

/** `setStunServerAddress`: the host must be one the gateway allows (RFC 8489 Binding requests go there). */
export function checkStunAddress(value: unknown, media: MediaTargetRules): void {
  if (typeof value !== 'string' || classifyHost(value) === 'invalid') {
    throw new PolicyDenied('param-invalid', 'stunServerAddress: must be a host name or IP address');
  }
  if (!media.relayAllowed(value, undefined)) {
    throw new PolicyDenied('target-not-allowed', `STUN server ${hostDetail(value)} is not allowed`);
  }
}

/** `setStunServerPort`: a port some allowed relay entry permits. */
export function checkStunPort(value: unknown, media: MediaTargetRules): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new PolicyDenied('param-invalid', 'stunServerPort: must be an integer 1..65535');
  }
  if (!media.relayAllowed(undefined, value)) {
    throw new PolicyDenied('target-not-allowed', `STUN port ${value} is not allowed`);
  }
}

/**
 * The rule for an address a viewer supplies (ICE candidate, SDP `c=`):
 * public IP literals pass; loopback, private and link-local ones, and mDNS
 * `.local` names (RFC 6762: they name a host on the local link, and neither
 * the built-in engine nor KMS resolves them) pass only with allowLanViewers;
 * other names are refused, because the media backend would resolve a name of
 * the hub's choosing (DNS rebinding to a LAN address); unspecified, multicast
 * and broadcast addresses are refused.
 */
export function checkViewerAddress(address: string, media: MediaTargetRules, where: string): void {
  const cls = classifyHost(address);
  if (cls === 'public') return;
  if (cls === 'loopback' || cls === 'private' || cls === 'link-local' || isMdnsName(address)) {
    if (media.allowLanViewers) return;
    throw new PolicyDenied('lan-address', `${where}: ${cls === 'name' ? 'mDNS' : cls} address refused`);
  }
  throw new PolicyDenied('target-not-allowed', `${where}: ${cls} address refused`);
}

/**
 * RFC 8839 §5.1: `candidate:<foundation> <component> <transport> <priority>
 * <connection-address> <port> typ <type> ...`. Returns the address and port;
 * throws when the line does not have that shape.
 */
export function parseCandidate(line: string, where: string): { address: string; port: number } {
  const body = line.startsWith('a=') ? line.slice(2) : line;
  const m = /^candidate:\S{1,32} \d{1,3} \S{1,16} \d{1,10} (\S{1,255}) (\d{1,5}) typ \S{1,16}(?: |$)/i.exec(body);
  if (!m) throw new PolicyDenied('param-invalid', `${where}: not an ICE candidate (RFC 8839 §5.1)`);
  return { address: m[1]!, port: Number(m[2]) };
}

/** `addIceCandidate {candidate: {candidate, sdpMid, sdpMLineIndex}}`: the candidate's address must pass. */
export function checkIceCandidate(value: JsonObject, media: MediaTargetRules): void {
  const c = value.candidate;
  if (typeof c !== 'string') throw new PolicyDenied('param-invalid', 'candidate.candidate: must be a string');
  // An empty candidate is the end-of-candidates indication (RFC 8838 §8.2): nothing to send to.
  if (c === '') return;
  const { address } = parseCandidate(c, 'addIceCandidate');
  checkViewerAddress(address, media, 'addIceCandidate');
}

/**
 * Every `c=` line (RFC 8866 §5.7), `a=rtcp:` address (RFC 3605) and
 * `a=candidate:` line (RFC 8839 §5.1) of an offer or answer. `0.0.0.0` / `::`
 * in `c=` is JSEP's placeholder (RFC 8829 §5.2.1: "IN IP4 0.0.0.0") and
 * sends nothing, so it passes.
 */
export function checkSdpAddresses(sdp: string, media: MediaTargetRules, where: string): void {
  for (const raw of sdp.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    let address: string | undefined;
    const conn = /^c=IN IP[46] ([^\s/]+)/.exec(line) ?? /^a=rtcp:\d{1,5} IN IP[46] ([^\s/]+)/.exec(line);
    if (conn) {
      address = conn[1]!;
      if (address === '0.0.0.0' || address === '::') continue;
    } else if (line.startsWith('a=candidate:')) {
      address = parseCandidate(line, where).address;
    } else if (line.startsWith('c=')) {
      throw new PolicyDenied('param-invalid', `${where}: c= line is not IN IP4/IP6 <address>`);
    }
    if (address !== undefined) checkViewerAddress(address, media, where);
  }
}

/** A host for a refusal message: IP literals and names as given, cut to a safe length. */
function hostDetail(host: string): string {
  const h = host.replace(/[^A-Za-z0-9.:[\]_-]/g, '?');
  return h.length > 40 ? `${h.slice(0, 37)}...` : h;
}
