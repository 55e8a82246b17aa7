/**
 * The audio sections of a camera's SDP: codec, clock, channels, the RFC 3640
 * parameters of AAC (`mpeg4-generic`), direction and control URL; and which
 * section is the camera's audio and which its ONVIF back channel.
 */
import { resolveControl } from './sdp.js';
import type { SdpDirection, SdpMedia, SdpSession } from './sdp.js';

/** The codecs the client depacketizes; 'OTHER' is reported and never set up. */
export type RtspAudioCodec = 'PCMA' | 'PCMU' | 'AAC' | 'OPUS' | 'OTHER';

/** The camera's audio track (or back channel), as the `audio` and `backchannel` events give it. */
export interface RtspAudioInfo {
  codec: RtspAudioCodec;
  /** The rtpmap encoding name as the camera wrote it (`PCMA`, `mpeg4-generic`, `MP4A-LATM`…). */
  encodingName: string;
  payloadType: number;
  /** RTP clock rate, Hz (8000 for G.711, the sampling rate for AAC, 48000 for Opus). */
  clockRate: number;
  channels: number;
  /** AAC only: the AudioSpecificConfig from the fmtp `config` (ISO/IEC 14496-3 §1.6.2.1). */
  config?: Buffer;
}

/** RFC 3640 §4.1 fmtp parameters that shape the AU-header section. Lengths in bits. */
export interface Rfc3640Params {
  mode: 'AAC-hbr' | 'AAC-lbr';
  sizeLength: number;
  indexLength: number;
  indexDeltaLength: number;
  ctsDeltaLength: number;
  dtsDeltaLength: number;
  randomAccessIndication: boolean;
  streamStateIndication: number;
  auxiliaryDataSizeLength: number;
  /** RTP ticks per access unit: fmtp `constantDuration`, else 1024 (an AAC frame, ISO/IEC 14496-3 §4.5.1.1). */
  frameDuration: number;
}

export interface SdpAudioTrack {
  info: RtspAudioInfo;
  /** Absolute control URL for SETUP. */
  controlUrl: string;
  /** The section's direction (RFC 8866 §6.7; the session's, else sendrecv). */
  direction: SdpDirection;
  /** Set for AAC. */
  aac?: Rfc3640Params;
  /** Why the track cannot be depacketized (codec 'OTHER', or AAC parameters we cannot read). */
  unsupported?: string;
}

/** A camera has one or two audio sections; a hostile SDP with hundreds stops being read here. */
const MAX_AUDIO_SECTIONS = 16;
/** An AudioSpecificConfig is 2–5 bytes in practice; 64 bounds what we keep. */
const MAX_CONFIG_BYTES = 64;

/** RFC 3640 §3.3.5/§3.3.6: the AU-header field sizes each AAC mode fixes. */
const MODE_DEFAULTS = {
  'aac-hbr': { mode: 'AAC-hbr', sizeLength: 13, indexLength: 3, indexDeltaLength: 3 },
  'aac-lbr': { mode: 'AAC-lbr', sizeLength: 6, indexLength: 2, indexDeltaLength: 2 },
} as const;

/** A bounded non-negative decimal fmtp value; `fallback` when absent; undefined when present but invalid. */
function bits(fmtp: Map<string, string> | undefined, name: string, fallback: number, max: number): number | undefined {
  const v = fmtp?.get(name);
  if (v === undefined) return fallback;
  if (!/^\d{1,3}$/.test(v) || Number(v) > max) return undefined;
  return Number(v);
}

function parseConfig(hex: string | undefined): Buffer | undefined {
  if (!hex || hex.length % 2 !== 0 || !/^[0-9a-fA-F]+$/.test(hex) || hex.length > MAX_CONFIG_BYTES * 2)
    return undefined;
  return Buffer.from(hex, 'hex');
}

/** RFC 3640 §4.1 parameters of an AAC section, or a reason why they cannot be used. */
function rfc3640(fmtp: Map<string, string> | undefined): Rfc3640Params | string {
  const mode = fmtp?.get('mode')?.toLowerCase();
  const d = mode === 'aac-hbr' || mode === 'aac-lbr' ? MODE_DEFAULTS[mode] : undefined;
  if (!d) return `mpeg4-generic mode ${JSON.stringify(fmtp?.get('mode') ?? '')} is not AAC-hbr or AAC-lbr`;
  const p = {
    sizeLength: bits(fmtp, 'sizelength', d.sizeLength, 16),
    indexLength: bits(fmtp, 'indexlength', d.indexLength, 8),
    indexDeltaLength: bits(fmtp, 'indexdeltalength', d.indexDeltaLength, 8),
    ctsDeltaLength: bits(fmtp, 'ctsdeltalength', 0, 32),
    dtsDeltaLength: bits(fmtp, 'dtsdeltalength', 0, 32),
    randomAccessIndication: bits(fmtp, 'randomaccessindication', 0, 1),
    streamStateIndication: bits(fmtp, 'streamstateindication', 0, 32),
    auxiliaryDataSizeLength: bits(fmtp, 'auxiliarydatasizelength', 0, 32),
    frameDuration: bits(fmtp, 'constantduration', 0, 999),
  };
  for (const [k, v] of Object.entries(p))
    if (v === undefined) return `mpeg4-generic fmtp ${k.toLowerCase()} is invalid`;
  if (p.sizeLength === 0) return 'mpeg4-generic sizelength is 0';
  return {
    mode: d.mode,
    sizeLength: p.sizeLength!,
    indexLength: p.indexLength!,
    indexDeltaLength: p.indexDeltaLength!,
    ctsDeltaLength: p.ctsDeltaLength!,
    dtsDeltaLength: p.dtsDeltaLength!,
    randomAccessIndication: p.randomAccessIndication === 1,
    streamStateIndication: p.streamStateIndication!,
    auxiliaryDataSizeLength: p.auxiliaryDataSizeLength!,
    frameDuration: p.frameDuration || 1024,
  };
}

/** One payload type of a section as a track; `undefined` when the payload type has no usable rtpmap. */
function trackOf(m: SdpMedia, pt: number, controlUrl: string, direction: SdpDirection): SdpAudioTrack | undefined {
  // RFC 3551 §6: static payload types 0 (PCMU) and 8 (PCMA) need no rtpmap.
  const map = m.rtpmap.get(pt) ?? (pt === 0 ? { encoding: 'PCMU', clockRate: 8000 } : undefined);
  const entry = map ?? (pt === 8 ? { encoding: 'PCMA', clockRate: 8000 } : undefined);
  if (!entry) return undefined;
  const name = entry.encoding.toUpperCase();
  const info: RtspAudioInfo = {
    codec: 'OTHER',
    encodingName: entry.encoding,
    payloadType: pt,
    clockRate: entry.clockRate,
    channels: entry.channels ?? 1,
  };
  const track: SdpAudioTrack = { info, controlUrl, direction };
  if ((name === 'PCMA' || name === 'PCMU') && entry.clockRate === 8000) {
    info.codec = name;
  } else if (name === 'OPUS' && entry.clockRate === 48000) {
    info.codec = 'OPUS'; // RFC 7587 §4.2: one Opus packet per RTP payload, passed through
  } else if (name === 'MPEG4-GENERIC') {
    const fmtp = m.fmtp.get(pt);
    const params = rfc3640(fmtp);
    const config = parseConfig(fmtp?.get('config'));
    if (typeof params === 'string') track.unsupported = params;
    else if (!config) track.unsupported = 'mpeg4-generic without a readable config (AudioSpecificConfig)';
    else {
      info.codec = 'AAC';
      info.config = config;
      track.aac = params;
    }
  } else if (name === 'MP4A-LATM') {
    track.unsupported = 'MP4A-LATM (RFC 6416) audio is not depacketized';
  } else {
    track.unsupported = `${entry.encoding}/${entry.clockRate} audio is not supported`;
  }
  if (info.channels < 1 || info.channels > 8) {
    info.codec = 'OTHER';
    delete info.config;
    delete track.aac;
    track.unsupported = `${info.channels} audio channels are not supported`;
  }
  return track;
}

/**
 * The audio sections of `sdp`, one track per section: its first payload type we
 * depacketize, else its first one with an rtpmap (reported as 'OTHER').
 */
export function findAudioTracks(sdp: SdpSession, baseUrl: string): SdpAudioTrack[] {
  const out: SdpAudioTrack[] = [];
  for (const m of sdp.media) {
    if (m.type !== 'audio') continue;
    if (out.length >= MAX_AUDIO_SECTIONS) break;
    const direction = m.direction ?? sdp.direction ?? 'sendrecv';
    const controlUrl = resolveControl(m.control, baseUrl);
    let first: SdpAudioTrack | undefined;
    let chosen: SdpAudioTrack | undefined;
    for (const pt of m.formats.slice(0, 32)) {
      const t = trackOf(m, pt, controlUrl, direction);
      if (!t) continue;
      first ??= t;
      if (t.info.codec !== 'OTHER') {
        chosen = t;
        break;
      }
    }
    const t = chosen ?? first;
    if (t) out.push(t);
  }
  return out;
}

/**
 * Which audio section the camera sends and which is its back channel.
 *
 * ONVIF Streaming Spec §5.3.1 marks directions from the client's side: the
 * camera's audio is `recvonly` (or has no attribute), the back channel
 * `sendonly`, and it is only in the SDP when DESCRIBE carried
 * `Require: www.onvif.org/ver20/backchannel`. Without that header some
 * cameras still write `sendonly` on their own audio (RFC 8866 meaning: the
 * camera sends), so then a `sendonly` section is taken as the camera's audio
 * when there is no other.
 */
export function chooseAudioTracks(
  tracks: readonly SdpAudioTrack[],
  backchannelRequested: boolean,
): { receive?: SdpAudioTrack; back?: SdpAudioTrack } {
  const usable = (t: SdpAudioTrack): boolean => t.info.codec !== 'OTHER';
  const receiving = tracks.filter((t) => t.direction === 'recvonly' || t.direction === 'sendrecv');
  const sending = tracks.filter((t) => t.direction === 'sendonly');
  const out: { receive?: SdpAudioTrack; back?: SdpAudioTrack } = {};
  const receive =
    receiving.find(usable) ?? receiving[0] ?? (backchannelRequested ? undefined : (sending.find(usable) ?? sending[0]));
  if (receive) out.receive = receive;
  if (backchannelRequested) {
    const back = sending.find(usable) ?? sending[0];
    if (back) out.back = back;
  }
  return out;
}
