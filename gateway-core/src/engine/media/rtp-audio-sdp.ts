/**
 * The audio section of the RtpEndpoint's plain RTP/(S)AVP descriptions:
 * Opus (RFC 7587) with SDES keys (RFC 4568), RTP and RTCP on one port
 * (RFC 5761), what a HomeKit controller asks for. The answer names the clock
 * rate HomeKit selected (16 or 24 kHz): HomeKit's Opus RTP runs on that
 * clock, not on RFC 7587's 48 kHz, so the engine takes the rate it is given.
 */
import { isIP } from 'node:net';
import { CamgateError } from '../../util/index.js';
import { assertUnicastTarget } from './rtp-sdp.js';
import { sdpSuiteName, type SrtpSuite } from './srtp.js';

/** Clock rates an Opus answer may name: Opus's own sample rates (RFC 6716 §2). */
export const OPUS_CLOCK_RATES = [8000, 12_000, 16_000, 24_000, 48_000] as const;
/** Packet times HomeKit selects (HAP RTPTime: 20, 30, 40, 60 ms); anything 10..120 ms is taken. */
const PTIME_RANGE = { min: 10, max: 120 } as const; // ms, RFC 6716 §2: 2.5..120 ms per packet
export const DEFAULT_AUDIO_PTIME_MS = 20; // ms, what RFC 7587 §7 suggests without a=ptime

export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';

/** What the engine learns from the remote description's audio section. */
export interface RemoteAudioDescription {
  address: string;
  family: 4 | 6;
  /** The remote's audio port; RTP and RTCP both go there (RFC 5761). */
  port: number;
  proto: string;
  payloadType: number;
  /** The Opus RTP clock the remote asked for (HomeKit: its selected sample rate). */
  clockRate: number;
  channels: number;
  /** Milliseconds of audio per packet (`a=ptime`). */
  ptimeMs: number;
  /** `b=AS` in kbit/s, when given. */
  maxBitrateKbps?: number;
  /** The remote's direction: `sendrecv`/`sendonly` when it sends audio (talk-back). */
  direction: Direction;
  /** The key the remote sends with, when its audio section has its own `a=crypto` (RFC 4568 §6.1). */
  remoteKeyAndSalt?: Buffer;
}

function sdpError(message: string): CamgateError {
  return new CamgateError('CAMGATE_ENGINE_SDP', message);
}

/**
 * Reads the first `m=audio` section with an Opus payload. Undefined when there
 * is none or its port is 0 (RFC 3264 §6: a rejected stream); throws
 * CAMGATE_ENGINE_SDP when the section is there but unusable.
 */
export function parseRemoteAudio(sdp: string, what: string, secure: boolean): RemoteAudioDescription | undefined {
  const lines = sdp.split(/\r?\n/);
  let sessionC: string | undefined;
  let section: string[] | undefined;
  let seenMedia = false;
  for (const line of lines) {
    if (line.startsWith('m=')) {
      seenMedia = true;
      if (section) break;
      if (line.startsWith('m=audio ')) section = [line];
      continue;
    }
    if (!seenMedia && line.startsWith('c=')) sessionC = line;
    section?.push(line);
  }
  if (!section) return undefined;
  const m = /^m=audio (\d{1,5}) (\S+) ([\d ]+)\s*$/.exec(section[0]!);
  if (!m) throw sdpError(`${what}: malformed m=audio line`);
  const port = Number(m[1]);
  if (port === 0) return undefined;
  if (port > 65_535) throw sdpError(`${what}: the audio port must be 1..65535`);
  const proto = m[2]!;
  if (!['RTP/AVP', 'RTP/SAVP', 'RTP/AVPF', 'RTP/SAVPF'].includes(proto)) {
    throw sdpError(`${what}: audio transport ${proto.slice(0, 32)} is not RTP/(S)AVP(F)`);
  }
  if (proto.startsWith('RTP/SAVP') !== secure) {
    throw sdpError(`${what}: the audio section's ${proto} does not match the video's protection (RFC 4568 §3.1.4)`);
  }
  const offered = new Set(m[3]!.trim().split(/ +/).map(Number));
  let opus: { pt: number; clock: number; channels: number } | undefined;
  let ptime = DEFAULT_AUDIO_PTIME_MS;
  let direction: Direction = 'sendrecv';
  let bitrate: number | undefined;
  let key: Buffer | undefined;
  let mediaC: string | undefined;
  for (const line of section.slice(1)) {
    const r = /^a=rtpmap:(\d{1,3}) opus\/(\d{1,6})(?:\/(\d))?\s*$/i.exec(line);
    if (r && !opus && offered.has(Number(r[1]))) {
      opus = { pt: Number(r[1]), clock: Number(r[2]), channels: r[3] ? Number(r[3]) : 1 };
    }
    const p = /^a=ptime:(\d{1,4})\s*$/.exec(line);
    if (p) ptime = Number(p[1]);
    const d = /^a=(sendrecv|sendonly|recvonly|inactive)\s*$/.exec(line);
    if (d) direction = d[1] as Direction;
    const b = /^b=AS:(\d{1,7})\s*$/.exec(line);
    if (b) bitrate = Number(b[1]);
    const c = /^a=crypto:\d{1,9} AES_CM_128_HMAC_SHA1_(?:80|32) inline:([A-Za-z0-9+/]{40})(?:\|\S*)?\s*$/.exec(line);
    if (c && !key) key = Buffer.from(c[1]!, 'base64');
    if (line.startsWith('c=')) mediaC = line;
  }
  if (!opus) throw sdpError(`${what}: the audio section has no Opus payload (RFC 7587)`);
  if (opus.pt < 96 || opus.pt > 127) throw sdpError(`${what}: the Opus payload type must be dynamic (96..127)`);
  if (!(OPUS_CLOCK_RATES as readonly number[]).includes(opus.clock)) {
    throw sdpError(`${what}: Opus clock rate ${opus.clock} is not one of ${OPUS_CLOCK_RATES.join(', ')}`);
  }
  if (ptime < PTIME_RANGE.min || ptime > PTIME_RANGE.max) {
    throw sdpError(`${what}: a=ptime must be ${PTIME_RANGE.min}..${PTIME_RANGE.max} ms`);
  }
  const c = mediaC ?? sessionC;
  const cm = c ? /^c=IN (IP4|IP6) ([0-9A-Fa-f.:]+)(?:\/\d+)*\s*$/.exec(c) : null;
  if (!cm) throw sdpError(`${what}: the audio section has no usable c= line (RFC 8866 §5.7)`);
  const family = isIP(cm[2]!);
  if (family === 0 || (family === 4) !== (cm[1] === 'IP4')) throw sdpError(`${what}: c= does not hold an IP literal`);
  assertUnicastTarget(cm[2]!);
  return {
    address: cm[2]!,
    family: family as 4 | 6,
    port,
    proto,
    payloadType: opus.pt,
    clockRate: opus.clock,
    channels: opus.channels,
    ptimeMs: ptime,
    ...(bitrate !== undefined ? { maxBitrateKbps: bitrate } : {}),
    direction,
    ...(key ? { remoteKeyAndSalt: key } : {}),
  };
}

/** The engine's own audio section. */
export interface LocalAudioDescription {
  port: number;
  proto: string;
  payloadType: number;
  clockRate: number;
  ptimeMs: number;
  direction: Direction;
  ssrc: number;
  crypto?: { suite: SrtpSuite; keyAndSalt: Buffer };
}

/** An Opus audio section (RFC 7587 §7: `opus/<clock>/2`; RFC 5761 `a=rtcp-mux`; RFC 4568 `a=crypto`). */
export function buildLocalAudio(d: LocalAudioDescription): string[] {
  const lines = [
    `m=audio ${d.port} ${d.proto} ${d.payloadType}`,
    `a=rtpmap:${d.payloadType} opus/${d.clockRate}/2`,
    `a=fmtp:${d.payloadType} minptime=10;useinbandfec=1`,
    `a=ptime:${d.ptimeMs}`,
    'a=rtcp-mux',
    `a=${d.direction}`,
    `a=ssrc:${d.ssrc} cname:camgate`,
  ];
  if (d.crypto) {
    lines.push(`a=crypto:1 ${sdpSuiteName(d.crypto.suite)} inline:${d.crypto.keyAndSalt.toString('base64')}`);
  }
  return lines;
}
