import type { RTCRtpCodecParameters } from 'werift';
import type { WeriftModule } from './werift-lazy.js';

/**
 * Audio as the engine moves it, and what a viewer may be sent. The camera's
 * track is described by the RTSP client's `audio` event (`RtspAudioInfo`,
 * team contract); the names are repeated here as structural types so the
 * engine builds on its own.
 */
export type CameraAudioCodec = 'PCMA' | 'PCMU' | 'AAC' | 'OPUS' | 'OTHER';

/** The RTSP client's description of the camera's audio track (rtsp/, `audio` event). */
export interface CameraAudioInfo {
  codec: CameraAudioCodec;
  encodingName: string;
  payloadType: number;
  clockRate: number;
  channels: number;
  /** AAC AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1). */
  config?: Buffer;
}

/** What a viewer can be sent: G.711 as the camera sends it, or Opus (FFmpeg from anything else). */
export type ViewerAudioCodec = 'PCMA' | 'PCMU' | 'OPUS';

/**
 * One audio frame on its way to viewers. `timestamp` counts in `clockRate`
 * (8000 for G.711, 48000 for Opus, RFC 3551 §4.5.14, RFC 7587 §4.1);
 * `ntpMs` is the capture time on the camera's sender-report clock
 * (lip-sync.ts), when the camera sent reports.
 */
export interface AudioFrame {
  /** A viewer path gets PCMA, PCMU or OPUS; `subscribeAudio` without `accept` gets the camera's own codec. */
  codec: CameraAudioCodec;
  payload: Buffer;
  timestamp: number;
  clockRate: number;
  /** Samples per channel in this frame at `clockRate` (a G.711 byte is a sample; Opus from its TOC). */
  samples: number;
  ntpMs?: number;
}

/** A payload the answer accepted for one of our audio codecs. */
export interface AudioPayload {
  codec: ViewerAudioCodec;
  payloadType: number;
  clockRate: number;
}

/**
 * The audio codecs the engine answers with (werift matches them to the
 * offer by MIME type and keeps the offer's payload numbers). Opus first:
 * what we send when the camera is not G.711. PCMU and PCMA keep their
 * static numbers (RFC 3551 §6); every browser offers them.
 */
export function weriftAudioCodecs(w: WeriftModule): RTCRtpCodecParameters[] {
  return [
    new w.RTCRtpCodecParameters({
      mimeType: 'audio/opus',
      clockRate: 48_000,
      channels: 2, // RFC 7587 §7: always opus/48000/2 in SDP, whatever is sent
      payloadType: 111,
      parameters: 'minptime=10;useinbandfec=1',
    }),
    new w.RTCRtpCodecParameters({ mimeType: 'audio/PCMU', clockRate: 8_000, channels: 1, payloadType: 0 }),
    new w.RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8_000, channels: 1, payloadType: 8 }),
  ];
}

const NAMES: Record<string, { codec: ViewerAudioCodec; clockRate: number; channels: number }> = {
  opus: { codec: 'OPUS', clockRate: 48_000, channels: 2 },
  pcmu: { codec: 'PCMU', clockRate: 8_000, channels: 1 },
  pcma: { codec: 'PCMA', clockRate: 8_000, channels: 1 },
};

/** Audio sections are short; a hostile SDP with thousands of payloads stops being read here. */
const MAX_PAYLOADS = 64;

/**
 * The payloads of our codecs in the first audio m-section of `sdp` (an
 * offer or our answer), in its order, and the section's direction. Static
 * payload types 0 and 8 count without an rtpmap line (RFC 3551 §6).
 */
export function parseAudioSection(
  sdp: string,
): { payloads: AudioPayload[]; direction: string; port: number } | undefined {
  const lines = sdp.split(/\r?\n/);
  let inAudio = false;
  let seen = false;
  let order: number[] = [];
  let port = 0;
  let direction = 'sendrecv';
  const rtpmap = new Map<number, string>();
  for (const line of lines) {
    if (line.startsWith('m=')) {
      if (seen) break;
      inAudio = line.startsWith('m=audio ');
      if (inAudio) {
        seen = true;
        const parts = line.split(' ');
        port = Number(parts[1]);
        order = parts
          .slice(3, 3 + MAX_PAYLOADS)
          .map(Number)
          .filter((n) => Number.isInteger(n) && n >= 0 && n <= 127);
      }
      continue;
    }
    if (!inAudio) continue;
    const m = /^a=rtpmap:(\d{1,3}) ([^\s/]+)\/(\d+)/.exec(line);
    if (m) rtpmap.set(Number(m[1]), `${m[2]!.toLowerCase()}/${m[3]}`);
    const d = /^a=(sendrecv|sendonly|recvonly|inactive)$/.exec(line);
    if (d) direction = d[1]!;
  }
  if (!seen) return undefined;
  const payloads: AudioPayload[] = [];
  for (const pt of order) {
    const map = rtpmap.get(pt) ?? (pt === 0 ? 'pcmu/8000' : pt === 8 ? 'pcma/8000' : undefined);
    if (!map) continue;
    const [name, rate] = map.split('/');
    const known = NAMES[name!];
    if (known && Number(rate) === known.clockRate && !payloads.some((p) => p.codec === known.codec)) {
      payloads.push({ codec: known.codec, payloadType: pt, clockRate: known.clockRate });
    }
  }
  return { payloads, direction, port };
}

/**
 * What a viewer who accepted `accepted` gets from a camera sending `camera`:
 * the camera's G.711 untouched when accepted (no FFmpeg, no delay), else Opus
 * made by FFmpeg (AAC and anything else), else nothing.
 */
export function chooseViewerCodec(
  camera: CameraAudioCodec | undefined,
  accepted: readonly ViewerAudioCodec[],
): ViewerAudioCodec | undefined {
  if (camera === undefined) return undefined;
  if ((camera === 'PCMA' || camera === 'PCMU') && accepted.includes(camera)) return camera;
  if (camera === 'OPUS' && accepted.includes('OPUS')) return 'OPUS';
  return accepted.includes('OPUS') ? 'OPUS' : undefined;
}
