/**
 * Plain RTP/(S)AVP session descriptions for the RtpEndpoint (RFC 8866 SDP,
 * RFC 3264 offer/answer, RFC 4568 SDES `a=crypto`). Unlike WebRTC there is no
 * ICE: the remote's `c=` address and `m=video` port are where the engine
 * sends, so both are validated strictly (IP literals only — a host name would
 * make the engine resolve names chosen by the caller).
 */
import { isIP } from 'node:net';
import { CamgateError } from '../../util/index.js';
import { assertSdp, parseH264Payloads, selectH264Payload, type H264Payload } from './h264-sdp.js';
import { sdpSuiteName, type SrtpSuite } from './srtp.js';

/** What the engine learns from the remote description. */
export interface RemoteRtpDescription {
  /** IP literal the remote receives video on. */
  address: string;
  family: 4 | 6;
  /** UDP port the remote receives RTP on. */
  port: number;
  /** `RTP/AVP`, `RTP/SAVP`, `RTP/AVPF` or `RTP/SAVPF`. */
  proto: string;
  /** The H.264 payload the engine will send with. */
  payload: H264Payload;
  /** Direction attribute of the video section (`sendrecv` when absent, RFC 8866 §6.7). */
  direction: 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
}

const PROTOS = new Set(['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF']);

function sdpError(message: string): CamgateError {
  return new CamgateError('CAMGATE_ENGINE_SDP', message);
}

/** Refuses addresses that would fan the stream out or go nowhere: unspecified, broadcast, multicast. */
export function assertUnicastTarget(address: string): void {
  const family = isIP(address);
  if (family === 4) {
    const first = Number(address.split('.')[0]);
    if (address === '0.0.0.0' || address === '255.255.255.255' || (first >= 224 && first <= 239)) {
      throw sdpError(`the remote address ${address} is not a unicast address`);
    }
  } else if (family === 6) {
    const lower = address.toLowerCase();
    if (lower === '::' || lower.startsWith('ff')) throw sdpError(`the remote address ${address} is not unicast`);
  } else {
    throw sdpError('the remote address must be an IPv4 or IPv6 literal');
  }
}

/** Reads the video target of a remote offer or answer; throws CAMGATE_ENGINE_SDP / CAMGATE_ENGINE_NO_H264. */
export function parseRemoteRtp(sdp: string, what: string, secure: boolean): RemoteRtpDescription {
  assertSdp(sdp, what);
  const lines = sdp.split(/\r?\n/);
  let sessionC: string | undefined;
  let videoC: string | undefined;
  let media: { port: number; proto: string } | undefined;
  let inVideo = false;
  let inAnyMedia = false;
  let direction: RemoteRtpDescription['direction'] = 'sendrecv';
  for (const line of lines) {
    if (line.startsWith('m=')) {
      inAnyMedia = true;
      const m = /^m=video (\d{1,5}) (\S+) /.exec(line);
      inVideo = m !== null && media === undefined;
      if (m && inVideo) media = { port: Number(m[1]), proto: m[2]! };
      continue;
    }
    if (line.startsWith('c=')) {
      if (!inAnyMedia) sessionC = line;
      else if (inVideo) videoC = line;
    }
    if (inVideo) {
      const d = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
      if (d) direction = d[1] as RemoteRtpDescription['direction'];
    }
  }
  if (!media) throw sdpError(`${what} has no m=video section`);
  if (!PROTOS.has(media.proto)) throw sdpError(`${what}: transport ${media.proto.slice(0, 32)} is not RTP/(S)AVP(F)`);
  if (media.port < 1 || media.port > 65_535) throw sdpError(`${what}: the video port must be 1..65535`);
  const isSecure = media.proto.startsWith('RTP/SAVP');
  if (secure !== isSecure) {
    // RFC 4568 §3.1.4: SDES keys go with RTP/SAVP; plain RTP/AVP would announce an unencrypted stream.
    throw sdpError(
      secure
        ? `${what} asks for ${media.proto} but this endpoint was created with crypto (RTP/SAVP expected)`
        : `${what} asks for ${media.proto} but this endpoint has no crypto (RTP/AVP expected)`,
    );
  }
  const c = videoC ?? sessionC;
  const cm = c ? /^c=IN (IP4|IP6) ([0-9A-Fa-f.:]+)(?:\/\d+)*\s*$/.exec(c) : null;
  if (!cm) throw sdpError(`${what} has no usable c= line (IN IP4/IP6 address, RFC 8866 §5.7)`);
  const address = cm[2]!;
  const family = isIP(address);
  if (family === 0 || (family === 4) !== (cm[1] === 'IP4')) throw sdpError(`${what}: c= does not hold an IP literal`);
  assertUnicastTarget(address);
  const payload = selectH264Payload(parseH264Payloads(sdp));
  return { address, family: family as 4 | 6, port: media.port, proto: media.proto, payload, direction };
}

/** What goes into the engine's own description. */
export interface LocalRtpDescription {
  sessionId: string;
  version: number;
  address: string;
  port: number;
  proto: string;
  payloadType: number;
  fmtp: string;
  ssrc: number;
  crypto?: { suite: SrtpSuite; keyAndSalt: Buffer };
  /** The audio section's lines (rtp-audio-sdp.ts), after the video's. */
  audio?: string[];
}

/** Builds a send-only H.264 description (RFC 8866 §5, RFC 6184 §8.2.1, RFC 4568 §9.1). */
export function buildLocalRtp(d: LocalRtpDescription): string {
  const ipv = isIP(d.address) === 6 ? 'IP6' : 'IP4';
  const lines = [
    'v=0',
    `o=- ${d.sessionId} ${d.version} IN ${ipv} ${d.address}`,
    's=camgate engine',
    `c=IN ${ipv} ${d.address}`,
    't=0 0',
    `m=video ${d.port} ${d.proto} ${d.payloadType}`,
    `a=rtpmap:${d.payloadType} H264/90000`,
    `a=fmtp:${d.payloadType} ${d.fmtp}`,
    'a=sendonly',
    `a=ssrc:${d.ssrc} cname:camgate`,
  ];
  if (d.crypto)
    lines.push(`a=crypto:1 ${sdpSuiteName(d.crypto.suite)} inline:${d.crypto.keyAndSalt.toString('base64')}`);
  if (d.audio) lines.push(...d.audio);
  return lines.join('\r\n') + '\r\n';
}
