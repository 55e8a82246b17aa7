/**
 * The simulated camera's session description (RFC 4566) for DESCRIBE: H.264
 * video (RFC 6184 §8.2.1), an optional audio track, and — only when the
 * client asked for it with `Require: www.onvif.org/ver20/backchannel` — the
 * ONVIF back channel (ONVIF Streaming Specification §5.3.1: the camera's
 * streams are `a=recvonly`, the back channel `a=sendonly`, both seen from the
 * client). Track controls are relative to Content-Base (RFC 2326 §C.1.1).
 */
import { audioSdpLines, type AudioFormat } from './audio-track.js';

/** What the server streams: parameter sets and the SDP facts of the encoder. */
export interface RtspStreamInfo {
  fps: number;
  width: number;
  height: number;
  profileLevelId: string;
  spropParameterSets: string;
  sps: Buffer;
  pps: Buffer;
  /** Repeat SPS/PPS before every IDR (true) or only announce them in the SDP (false). */
  parameterSetsInBand: boolean;
}

export type TrackKind = 'video' | 'audio' | 'backchannel';

/** `a=control` of each track. */
export const TRACK_CONTROLS: Record<TrackKind, string> = {
  video: 'trackID=0',
  audio: 'trackID=1',
  backchannel: 'trackID=2',
};

/** The ONVIF back-channel feature tag (ONVIF Streaming Specification §5.3.1). */
export const ONVIF_BACKCHANNEL_TAG = 'www.onvif.org/ver20/backchannel';

export interface SdpContent {
  /** Local address of the connection, for the o= line. */
  local: string;
  sessionId: number;
  video: RtspStreamInfo;
  audio?: AudioFormat;
  /** Present only when the client required the back channel and the camera has one. */
  backchannel?: AudioFormat;
}

export function buildSdp(c: SdpContent): string {
  const ipv6 = c.local.includes(':');
  const onvif = c.backchannel !== undefined;
  const v = c.video;
  const lines = [
    'v=0',
    `o=- ${c.sessionId} 1 IN ${ipv6 ? 'IP6' : 'IP4'} ${c.local}`,
    's=camgate camera-sim',
    `c=IN ${ipv6 ? 'IP6 ::' : 'IP4 0.0.0.0'}`,
    't=0 0',
    'a=control:*',
    'a=range:npt=now-',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    `a=fmtp:96 packetization-mode=1;profile-level-id=${v.profileLevelId};sprop-parameter-sets=${v.spropParameterSets}`,
    `a=framerate:${v.fps}`,
    `a=x-dimensions:${v.width},${v.height}`,
    ...(onvif ? ['a=recvonly'] : []),
    `a=control:${TRACK_CONTROLS.video}`,
  ];
  if (c.audio) {
    lines.push(`m=audio 0 RTP/AVP ${c.audio.payloadType}`, ...audioSdpLines(c.audio));
    if (onvif) lines.push('a=recvonly');
    lines.push(`a=control:${TRACK_CONTROLS.audio}`);
  }
  if (c.backchannel) {
    lines.push(`m=audio 0 RTP/AVP ${c.backchannel.payloadType}`, ...audioSdpLines(c.backchannel));
    lines.push('a=sendonly', `a=control:${TRACK_CONTROLS.backchannel}`);
  }
  return [...lines, ''].join('\r\n');
}
