/**
 * H.265/HEVC over RTP (RFC 7798): a depacketizer for single NAL unit
 * packets (§4.4.1), aggregation packets (AP, §4.4.2) and fragmentation units
 * (FU, §4.4.3) that reassembles access units. Browsers cannot decode H.265
 * in WebRTC; these units go to the transcoder (engine/media/transcoder.ts).
 *
 * Fed by the camera, i.e. by the network: every length is checked, broken
 * fragment sequences are dropped and counted, and an access unit never grows
 * past `maxAccessUnitBytes`. DONL fields (sprop-max-don-diff > 0) are not
 * supported: the SDP check refuses such streams before SETUP.
 */
import { parseRtpHeader, seqDelta } from './rtp.js';
import type { H264AccessUnit, H264DepacketizerStats } from './h264-rtp.js';

/** NAL unit types we act on (ITU-T H.265 Table 7-1, RFC 7798 §4.4). */
export const H265_NAL_TYPE = {
  /** BLA_W_LP..CRA_NUT, 16..21: intra random access points (§7.4.2.2), where a decoder can start. */
  IRAP_FIRST: 16,
  IRAP_LAST: 21,
  VPS: 32,
  SPS: 33,
  PPS: 34,
  AUD: 35,
  AP: 48,
  FU: 49,
  PACI: 50,
} as const;

/** The NAL unit type: bits 1..6 of the two-byte header (H.265 §7.3.1.2); -1 when shorter than a header. */
export function h265NalType(nalu: Buffer): number {
  return nalu.length >= 2 ? (nalu[0]! >> 1) & 0x3f : -1;
}

export interface H265DepacketizerOptions {
  /** Largest access unit kept, in bytes of NAL data; larger ones are dropped and counted. */
  maxAccessUnitBytes?: number;
  /** Most NAL units kept per access unit; more drops the access unit. */
  maxNalusPerAccessUnit?: number;
}

export const DEFAULT_H265_DEPACKETIZER_OPTIONS = {
  maxAccessUnitBytes: 4 * 1024 * 1024, // 4 MiB, as for H.264
  maxNalusPerAccessUnit: 1024, // slice segments + parameter sets + SEI
} as const;

/**
 * Reassembles H.265 access units from RTP packets. An access unit completes on
 * the marker bit (RFC 7798 §4.1) or when the timestamp changes. Units have the
 * shape of H264AccessUnit (NAL units without start codes, 90 kHz timestamp),
 * with `keyframe` set for IRAP pictures.
 */
export class H265Depacketizer {
  readonly #maxBytes: number;
  readonly #maxNalus: number;
  #nalus: Buffer[] = [];
  #bytes = 0;
  #timestamp: number | undefined;
  #ssrc: number | undefined;
  #lastSeq: number | undefined;
  #discarding = false;
  #fu: Buffer[] | undefined;
  #fuBytes = 0;
  #fuSkipping = false;
  readonly stats: H264DepacketizerStats = {
    packets: 0,
    accessUnits: 0,
    invalidPackets: 0,
    lostPackets: 0,
    droppedFragmentedNalus: 0,
    droppedAccessUnits: 0,
  };

  constructor(opts: H265DepacketizerOptions = {}) {
    const maxBytes = opts.maxAccessUnitBytes ?? DEFAULT_H265_DEPACKETIZER_OPTIONS.maxAccessUnitBytes;
    if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 256 * 1024 * 1024) {
      throw new RangeError(
        `H265Depacketizer: maxAccessUnitBytes must be an integer 1024..268435456, got ${String(maxBytes)}`,
      );
    }
    const maxNalus = opts.maxNalusPerAccessUnit ?? DEFAULT_H265_DEPACKETIZER_OPTIONS.maxNalusPerAccessUnit;
    if (!Number.isInteger(maxNalus) || maxNalus < 1 || maxNalus > 65_536) {
      throw new RangeError(
        `H265Depacketizer: maxNalusPerAccessUnit must be an integer 1..65536, got ${String(maxNalus)}`,
      );
    }
    this.#maxBytes = maxBytes;
    this.#maxNalus = maxNalus;
  }

  /** Feeds one RTP packet and returns every access unit it completed (0, 1 or 2). */
  pushAll(rtpPacket: Buffer): H264AccessUnit[] {
    const out: H264AccessUnit[] = [];
    const h = parseRtpHeader(rtpPacket);
    this.stats.packets++;
    if (!h || h.payload.length < 2) {
      this.stats.invalidPackets++;
      return out;
    }
    if (this.#ssrc !== undefined && h.ssrc !== this.#ssrc) {
      this.#resetAccessUnit();
      this.#lastSeq = undefined;
    }
    this.#ssrc = h.ssrc;
    if (this.#lastSeq !== undefined) {
      const d = seqDelta(this.#lastSeq, h.sequenceNumber);
      if (d <= 0) {
        this.stats.invalidPackets++;
        return out;
      }
      if (d > 1) {
        this.stats.lostPackets += d - 1;
        this.#breakFragment();
      }
    }
    this.#lastSeq = h.sequenceNumber;
    if (this.#timestamp !== undefined && h.timestamp !== this.#timestamp) {
      const au = this.#finish();
      if (au) out.push(au);
    }
    this.#timestamp = h.timestamp;
    this.#handlePayload(h.payload);
    if (h.marker) {
      const au = this.#finish();
      if (au) out.push(au);
    }
    return out;
  }

  /** Forgets any partial access unit and sequence state (after a reconnect). */
  reset(): void {
    this.#resetAccessUnit();
    this.#lastSeq = undefined;
    this.#ssrc = undefined;
  }

  #handlePayload(p: Buffer): void {
    if ((p[0]! & 0x80) !== 0) return void this.stats.invalidPackets++; // F bit: the sender marks it corrupt (§1.1.4)
    const type = (p[0]! >> 1) & 0x3f;
    if (type < H265_NAL_TYPE.AP)
      this.#addNalu(p); // §4.4.1 single NAL unit packet
    else if (type === H265_NAL_TYPE.AP) this.#handleAp(p);
    else if (type === H265_NAL_TYPE.FU) this.#handleFu(p);
    else this.stats.invalidPackets++; // PACI (50) and reserved 51..63 are not negotiated
  }

  /** RFC 7798 §4.4.2: payload header, then repeated 16-bit size + NAL unit (no DONL). */
  #handleAp(p: Buffer): void {
    const units: Buffer[] = [];
    let off = 2;
    while (off < p.length) {
      if (off + 2 > p.length) return void this.stats.invalidPackets++;
      const size = p.readUInt16BE(off);
      off += 2;
      // Each aggregated unit has at least its two-byte header.
      if (size < 2 || off + size > p.length) return void this.stats.invalidPackets++;
      units.push(p.subarray(off, off + size));
      off += size;
    }
    // §4.4.2: an AP carries at least two aggregation units.
    if (units.length < 2) return void this.stats.invalidPackets++;
    for (const u of units) this.#addNalu(u);
  }

  /** RFC 7798 §4.4.3: payload header (type 49), FU header (S|E|FuType), fragment. */
  #handleFu(p: Buffer): void {
    if (p.length < 4) return void this.stats.invalidPackets++;
    const fuHeader = p[2]!;
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    const fuType = fuHeader & 0x3f;
    // §4.4.3: S and E must not both be set; FuType must not be AP, FU or PACI.
    if ((start && end) || fuType >= H265_NAL_TYPE.AP) return void this.stats.invalidPackets++;
    const data = p.subarray(3);
    if (start) {
      if (this.#fu) this.stats.droppedFragmentedNalus++;
      this.#fuSkipping = false;
      // The NAL header: F and LayerId's high bit from the payload header, FuType, then LayerId/TID.
      const header = Buffer.from([(p[0]! & 0x81) | (fuType << 1), p[1]!]);
      this.#fu = [header, data];
      this.#fuBytes = 2 + data.length;
    } else if (!this.#fu) {
      if (!this.#fuSkipping) this.stats.droppedFragmentedNalus++;
      this.#fuSkipping = !end;
      return;
    } else {
      this.#fu.push(data);
      this.#fuBytes += data.length;
    }
    if (this.#bytes + this.#fuBytes > this.#maxBytes) {
      this.#fu = undefined;
      this.#fuBytes = 0;
      this.#fuSkipping = !end;
      this.#overLimit();
      return;
    }
    if (end) {
      const nalu = Buffer.concat(this.#fu, this.#fuBytes);
      this.#fu = undefined;
      this.#fuBytes = 0;
      this.#addNalu(nalu, true);
    }
  }

  #breakFragment(): void {
    if (this.#fu) {
      this.stats.droppedFragmentedNalus++;
      this.#fu = undefined;
      this.#fuBytes = 0;
      this.#fuSkipping = true;
    }
  }

  #addNalu(nalu: Buffer, owned = false): void {
    if (this.#discarding) return;
    if (this.#nalus.length + 1 > this.#maxNalus || this.#bytes + nalu.length > this.#maxBytes) {
      this.#overLimit();
      return;
    }
    this.#nalus.push(owned ? nalu : Buffer.from(nalu));
    this.#bytes += nalu.length;
  }

  #overLimit(): void {
    if (!this.#discarding) this.stats.droppedAccessUnits++;
    this.#discarding = true;
    this.#nalus = [];
    this.#bytes = 0;
  }

  #finish(): H264AccessUnit | undefined {
    const nalus = this.#nalus;
    const timestamp = this.#timestamp;
    const discarding = this.#discarding;
    this.#resetAccessUnit();
    if (discarding || nalus.length === 0 || timestamp === undefined) return undefined;
    this.stats.accessUnits++;
    const keyframe = nalus.some((n) => {
      const t = h265NalType(n);
      return t >= H265_NAL_TYPE.IRAP_FIRST && t <= H265_NAL_TYPE.IRAP_LAST;
    });
    return { nalus, timestamp, keyframe };
  }

  #resetAccessUnit(): void {
    if (this.#fu) this.stats.droppedFragmentedNalus++;
    this.#nalus = [];
    this.#bytes = 0;
    this.#timestamp = undefined;
    this.#discarding = false;
    this.#fu = undefined;
    this.#fuBytes = 0;
    this.#fuSkipping = false;
  }
}

/**
 * VPS, SPS and PPS that an IRAP unit lacks, put before its first slice segment (H.265 §7.4.2.4.4: parameter sets
 * precede the VCL units that use them), for cameras that send them only in the SDP (RFC 7798 §7.1 sprop-vps/sps/pps).
 */
export function insertH265ParameterSets(au: H264AccessUnit, sets: { vps?: Buffer; sps?: Buffer; pps?: Buffer }): void {
  const have = new Set(au.nalus.map(h265NalType));
  const missing = [sets.vps, sets.sps, sets.pps].filter(
    (n): n is Buffer => n !== undefined && n.length >= 2 && !have.has(h265NalType(n)),
  );
  if (missing.length === 0) return;
  const firstVcl = au.nalus.findIndex((n) => h265NalType(n) >= 0 && h265NalType(n) < 32); // VCL types are 0..31
  au.nalus.splice(firstVcl < 0 ? au.nalus.length : firstVcl, 0, ...missing);
}
