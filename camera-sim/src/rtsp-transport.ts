/**
 * The simulated camera's choice among the entries of a SETUP `Transport`
 * header (RFC 2326 §12.39): RTP interleaved in the RTSP connection
 * (`RTP/AVP/TCP;interleaved=n-m`, §10.12) or RTP over UDP unicast
 * (`RTP/AVP[/UDP];unicast;client_port=a-b`). Multicast, other profiles and a
 * `destination` other than the client itself are not served.
 */
import net from 'node:net';

/** The lower transports the camera may offer. */
export type SimTransport = 'tcp' | 'udp';

export const SIM_TRANSPORTS: readonly SimTransport[] = ['tcp', 'udp'];

/** `channel` is undefined when the client named none: the server picks a free pair. */
export type TransportChoice =
  { kind: 'tcp'; channel: number | undefined } | { kind: 'udp'; rtpPort: number; rtcpPort: number; spec: string };

/** Why no entry could be served: 461 (no usable transport) or 403 (a destination other than the peer). */
export type TransportRefusal = { kind: 'refused'; status: 461 | 403 };

const MAX_ENTRIES = 16; // a Transport header lists a handful of alternatives; more is noise

/**
 * Picks the first entry of `header` that `allowed` permits, in the client's
 * order of preference (§12.39: "listed in order of preference"). `peer` is the
 * address of the TCP connection that sent SETUP: UDP is only ever sent there.
 */
export function chooseTransport(
  header: string,
  allowed: readonly SimTransport[],
  peer: string,
): TransportChoice | TransportRefusal {
  let forbidden = false;
  for (const spec of header.split(',').slice(0, MAX_ENTRIES)) {
    const [rawProto, ...params] = spec.split(';').map((p) => p.trim());
    const proto = rawProto?.toUpperCase();
    if (proto === 'RTP/AVP/TCP') {
      if (!allowed.includes('tcp')) continue;
      const c = tcpEntry(params);
      if (c) return c;
    } else if (proto === 'RTP/AVP' || proto === 'RTP/AVP/UDP') {
      if (!allowed.includes('udp')) continue;
      const c = udpEntry(params, peer);
      if (c === 'forbidden') forbidden = true;
      else if (c) return c;
    }
  }
  return { kind: 'refused', status: forbidden ? 403 : 461 };
}

function tcpEntry(params: string[]): TransportChoice | undefined {
  let channel: number | undefined;
  for (const p of params) {
    const m = /^interleaved=(\d{1,3})(?:-(\d{1,3}))?$/i.exec(p);
    if (m) channel = Number(m[1]);
  }
  // Channel n carries RTP and n+1 RTCP, both must fit in the one-byte channel field.
  if (channel !== undefined && channel > 254) return undefined;
  return { kind: 'tcp', channel };
}

function udpEntry(params: string[], peer: string): TransportChoice | 'forbidden' | undefined {
  let ports: [number, number] | undefined;
  for (const p of params) {
    const [rawKey, value] = p.split('=', 2) as [string, string | undefined];
    const key = rawKey.toLowerCase();
    // §12.39: unicast is the default when neither is named; multicast is not served.
    if (key === 'multicast') return undefined;
    else if (key === 'client_port') {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(value ?? '');
      if (!m) return undefined;
      const rtp = Number(m[1]);
      const rtcp = m[2] === undefined ? rtp + 1 : Number(m[2]);
      if (rtp < 1 || rtp > 65535 || rtcp < 1 || rtcp > 65535) return undefined;
      ports = [rtp, rtcp];
    } else if (key === 'destination') {
      // §12.39 "destination": a client could aim the stream at a third host (a reflection/amplification
      // attack). Only the peer's own address is accepted; RTSP 2.0 (RFC 7826 §18.54) answers 403 otherwise.
      if (value === undefined || !sameAddress(value.replace(/^\[|\]$/g, ''), peer)) return 'forbidden';
    }
  }
  if (!ports) return undefined; // nowhere to send
  return { kind: 'udp', rtpPort: ports[0], rtcpPort: ports[1], spec: `client_port=${ports[0]}-${ports[1]}` };
}

function sameAddress(a: string, b: string): boolean {
  const norm = (x: string): string => (x.startsWith('::ffff:') && net.isIPv4(x.slice(7)) ? x.slice(7) : x);
  return net.isIP(a) !== 0 && norm(a).toLowerCase() === norm(b).toLowerCase();
}
