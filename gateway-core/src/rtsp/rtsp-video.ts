/**
 * The video half of an RTSP session (RtspClient's part that reads the
 * picture): which SDP track to play — H.264, or H.265 when allowed — what a
 * viewer pipeline needs to know about it, and its RTP turned into access
 * units that carry the latest parameter sets on every keyframe, so that a
 * decoder can start at any of them.
 */
import { CamgateError } from '../util/errors.js';
import { H264Depacketizer, NAL_TYPE, nalType } from './h264-rtp.js';
import type { H264AccessUnit } from './h264-rtp.js';
import { H265_NAL_TYPE, H265Depacketizer, h265NalType, insertH265ParameterSets } from './h265-rtp.js';
import { insertParameterSets } from './rtsp-client-options.js';
import { findH264Track, findH265Track } from './sdp.js';
import type { SdpH264Track, SdpH265Track, SdpSession } from './sdp.js';

/** What a viewer pipeline needs to know about the camera's video. */
export interface RtspVideoInfo {
  /** H.265 only when the `acceptH265` option allowed it; its access units then carry H.265 NAL units. */
  codec: 'H264' | 'H265';
  payloadType: number;
  clockRate: number;
  profileLevelId?: string;
  /** From sprop-parameter-sets (RFC 6184 §8.1) or sprop-sps/sprop-pps (RFC 7798 §7.1), when the SDP has them. */
  sps?: Buffer;
  pps?: Buffer;
  /** H.265 only: sprop-vps (RFC 7798 §7.1). */
  vps?: Buffer;
  packetizationMode?: number;
}

export type RtspVideoTrack = SdpH264Track | SdpH265Track;

/**
 * The video track to SETUP: H.264 first (it needs no conversion), else H.265 when `acceptH265`.
 * `acceptH265` is asked only when the camera offers H.265 alone (the engine's answer remembers a refusal).
 * Throws CAMGATE_RTSP_UNSUPPORTED for anything this client cannot read.
 */
export function selectVideoTrack(sdp: SdpSession, base: string, acceptH265: () => boolean): RtspVideoTrack {
  const track = findH264Track(sdp, base) ?? h265Track(findH265Track(sdp, base), acceptH265);
  if (!track) throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', 'the camera offers no H.264 video track');
  if ('packetizationMode' in track && track.packetizationMode > 1) {
    const mode = track.packetizationMode;
    throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', `packetization-mode ${mode} is not supported`);
  }
  return track;
}

function h265Track(track: SdpH265Track | undefined, acceptH265: () => boolean): SdpH265Track | undefined {
  if (!track) return undefined;
  if (!acceptH265()) {
    throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', 'the camera sends H.265 video; only H.264 video is supported');
  }
  // RFC 7798 §4.4: with sprop-max-don-diff > 0 every packet carries a DONL field, which we do not read.
  if (track.maxDonDiff > 0) throw new CamgateError('CAMGATE_RTSP_UNSUPPORTED', 'H.265 with DONL is not supported');
  return track;
}

/** Depacketizes the chosen track's RTP; one per client, `use()`d again after every SETUP. */
export class RtspVideoDepacketizer {
  readonly #maxAccessUnitBytes: number;
  readonly #h264: H264Depacketizer;
  /** Set while the current stream is H.265: its units go through this instead. */
  #h265: H265Depacketizer | undefined;
  /** Latest parameter sets: in-band ones replace the SDP's as they arrive. */
  #sps: Buffer | undefined;
  #pps: Buffer | undefined;
  #vps: Buffer | undefined;

  constructor(maxAccessUnitBytes: number) {
    this.#maxAccessUnitBytes = maxAccessUnitBytes;
    this.#h264 = new H264Depacketizer({ maxAccessUnitBytes });
  }

  /** A new connection: forget partial units; the next `use()` chooses the codec afresh. */
  reset(): void {
    this.#h264.reset();
    this.#h265 = undefined;
  }

  /** Reads `track` from now on (its SDP parameter sets until in-band ones arrive); returns its description. */
  use(track: RtspVideoTrack): RtspVideoInfo {
    this.#sps = track.sps;
    this.#pps = track.pps;
    if (!('packetizationMode' in track)) {
      const info: RtspVideoInfo = { codec: 'H265', payloadType: track.payloadType, clockRate: track.clockRate };
      if (track.vps) info.vps = track.vps;
      if (track.sps) info.sps = track.sps;
      if (track.pps) info.pps = track.pps;
      this.#h265 = new H265Depacketizer({ maxAccessUnitBytes: this.#maxAccessUnitBytes });
      this.#vps = track.vps;
      return info;
    }
    this.#h265 = undefined;
    const info: RtspVideoInfo = {
      codec: 'H264',
      payloadType: track.payloadType,
      clockRate: track.clockRate,
      packetizationMode: track.packetizationMode,
    };
    if (track.profileLevelId) info.profileLevelId = track.profileLevelId;
    if (track.sps) info.sps = track.sps;
    if (track.pps) info.pps = track.pps;
    return info;
  }

  /** The access units one RTP packet completes; keyframes carry the latest parameter sets. */
  push(packet: Buffer): H264AccessUnit[] {
    if (this.#h265) return this.#pushH265(this.#h265, packet);
    const units = this.#h264.pushAll(packet);
    for (const au of units) {
      for (const n of au.nalus) {
        const t = nalType(n);
        if (t === NAL_TYPE.SPS) this.#sps = n;
        else if (t === NAL_TYPE.PPS) this.#pps = n;
      }
      if (au.keyframe) insertParameterSets(au, this.#sps, this.#pps);
    }
    return units;
  }

  #pushH265(depacketizer: H265Depacketizer, packet: Buffer): H264AccessUnit[] {
    const units = depacketizer.pushAll(packet);
    for (const au of units) {
      for (const n of au.nalus) {
        const t = h265NalType(n);
        if (t === H265_NAL_TYPE.VPS) this.#vps = n;
        else if (t === H265_NAL_TYPE.SPS) this.#sps = n;
        else if (t === H265_NAL_TYPE.PPS) this.#pps = n;
      }
      if (au.keyframe) insertH265ParameterSets(au, { vps: this.#vps, sps: this.#sps, pps: this.#pps });
    }
    return units;
  }
}
