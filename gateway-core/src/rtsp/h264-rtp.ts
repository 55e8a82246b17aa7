/**
 * H.264 over RTP (RFC 6184): packetizer (single NAL unit and FU-A) and a
 * depacketizer (single NAL, STAP-A, FU-A) that reassembles access units.
 *
 * The depacketizer is fed by a camera, i.e. by the network: every length is
 * checked, corrupted fragment sequences are dropped and counted, and an access
 * unit never grows past `maxAccessUnitBytes`.
 */
import { buildRtpPacket, parseRtpHeader, seqDelta, type RtpHeader } from './rtp.js';

export { type RtpHeader } from './rtp.js';

/** One coded picture: the NAL units that share an RTP timestamp. */
export interface H264AccessUnit {
  /** NAL units without start codes (no Annex B `00 00 01`). */
  nalus: Buffer[];
  /** RTP timestamp, 90 kHz clock (RFC 6184 §5.1). */
  timestamp: number;
  /** True when the access unit contains an IDR slice (NAL type 5). */
  keyframe: boolean;
}

/** NAL unit types we act on (ITU-T H.264 Table 7-1, RFC 6184 Table 1). */
export const NAL_TYPE = {
  NON_IDR: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
  STAP_A: 24,
  STAP_B: 25,
  MTAP16: 26,
  MTAP24: 27,
  FU_A: 28,
  FU_B: 29,
} as const;

/** The NAL unit type: the low five bits of the first octet (H.264 §7.3.1); -1 for an empty buffer. */
export function nalType(nalu: Buffer): number {
  return nalu.length > 0 ? nalu[0]! & 0x1f : -1;
}

export interface H264PacketizerOptions {
  /** RTP payload type, 0..127 (dynamic types are 96..127). */
  payloadType: number;
  /** RTP synchronisation source, a 32-bit unsigned integer. */
  ssrc: number;
  /** Payload budget per packet in bytes, excluding the 12-byte RTP header. */
  mtu?: number;
  /** First sequence number, 0..65535 (RFC 3550 §5.1 recommends a random one). */
  initialSequence?: number;
}

export const DEFAULT_H264_PACKETIZER_OPTIONS = {
  mtu: 1200, // bytes of payload: 1200 + 12 RTP + 8 UDP + 40 IPv6 + SRTP/TURN overhead stays under 1500
} as const;

const MIN_MTU = 16; // bytes: room for the 2-byte FU-A header and some data
const MAX_MTU = 65_495; // bytes: a UDP datagram minus IP/UDP/RTP headers

/**
 * RTP payloads for one NAL unit: the unit itself when it fits in `mtu` bytes
 * (single NAL unit packet, RFC 6184 §5.6), else FU-A fragments (§5.8). Empty units give none.
 */
export function fragmentNalu(nalu: Buffer, mtu: number): Buffer[] {
  if (nalu.length === 0) return [];
  if (nalu.length <= mtu) return [nalu];
  // FU indicator keeps F and NRI, type 28; FU header S|E|R|type.
  const indicator = (nalu[0]! & 0xe0) | NAL_TYPE.FU_A;
  const type = nalu[0]! & 0x1f;
  const chunk = mtu - 2;
  const out: Buffer[] = [];
  for (let off = 1; off < nalu.length; off += chunk) {
    const end = Math.min(off + chunk, nalu.length);
    const fu = Buffer.allocUnsafe(2 + end - off);
    fu[0] = indicator;
    fu[1] = (off === 1 ? 0x80 : 0) | (end === nalu.length ? 0x40 : 0) | type;
    nalu.copy(fu, 2, off, end);
    out.push(fu);
  }
  return out;
}

/** Splits access units into RTP packets: single NAL unit mode or FU-A (RFC 6184 §5.6, §5.8). */
export class H264Packetizer {
  readonly payloadType: number;
  readonly ssrc: number;
  readonly mtu: number;
  #seq: number;

  constructor(opts: H264PacketizerOptions) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('H264Packetizer: options must be an object');
    const { payloadType, ssrc } = opts;
    if (!Number.isInteger(payloadType) || payloadType < 0 || payloadType > 127) {
      throw new RangeError(`H264Packetizer: payloadType must be an integer 0..127, got ${String(payloadType)}`);
    }
    if (!Number.isInteger(ssrc) || ssrc < 0 || ssrc > 0xffffffff) {
      throw new RangeError(`H264Packetizer: ssrc must be an integer 0..4294967295, got ${String(ssrc)}`);
    }
    const mtu = opts.mtu ?? DEFAULT_H264_PACKETIZER_OPTIONS.mtu;
    if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) {
      throw new RangeError(`H264Packetizer: mtu must be an integer ${MIN_MTU}..${MAX_MTU} bytes, got ${String(mtu)}`);
    }
    const seq = opts.initialSequence ?? Math.floor(Math.random() * 0x10000);
    if (!Number.isInteger(seq) || seq < 0 || seq > 0xffff) {
      throw new RangeError(`H264Packetizer: initialSequence must be an integer 0..65535, got ${String(seq)}`);
    }
    this.payloadType = payloadType;
    this.ssrc = ssrc;
    this.mtu = mtu;
    this.#seq = seq;
  }

  /** The sequence number the next packet will carry. */
  get nextSequence(): number {
    return this.#seq;
  }

  /** Full RTP packets for one access unit; the marker bit is set on the last one (RFC 6184 §5.1). */
  packetize(au: H264AccessUnit): Buffer[] {
    const payloads: Buffer[] = [];
    for (const nalu of au.nalus) payloads.push(...fragmentNalu(nalu, this.mtu));
    return payloads.map((payload, i) => {
      const pkt = buildRtpPacket({
        payloadType: this.payloadType,
        sequenceNumber: this.#seq,
        timestamp: au.timestamp,
        ssrc: this.ssrc,
        marker: i === payloads.length - 1,
        payload,
      });
      this.#seq = (this.#seq + 1) & 0xffff;
      return pkt;
    });
  }
}

export interface H264DepacketizerOptions {
  /** Largest access unit kept, in bytes of NAL data; larger ones are dropped and counted. */
  maxAccessUnitBytes?: number;
  /** Most NAL units kept per access unit; more drops the access unit. */
  maxNalusPerAccessUnit?: number;
}

export const DEFAULT_H264_DEPACKETIZER_OPTIONS = {
  maxAccessUnitBytes: 4 * 1024 * 1024, // 4 MiB: a 4K IDR at high quality is ~1-2 MiB
  maxNalusPerAccessUnit: 1024, // slices + parameter sets + SEI; cameras use < 100
} as const;

/** Counters of what the depacketizer saw and discarded. */
export interface H264DepacketizerStats {
  packets: number;
  accessUnits: number;
  /** Not RTP, empty payload, malformed STAP-A, or an unsupported NAL type (STAP-B, MTAP, FU-B, reserved). */
  invalidPackets: number;
  /** Packets missing according to sequence numbers. */
  lostPackets: number;
  /** FU-A sequences dropped because a fragment was missing or out of order. */
  droppedFragmentedNalus: number;
  /** Access units dropped for exceeding the byte or NAL-count limits. */
  droppedAccessUnits: number;
}

/**
 * Reassembles access units from RTP packets of one H.264 stream. An access
 * unit completes on the marker bit (RFC 6184 §5.1) or, for senders that lose
 * or never set it, when the timestamp changes.
 */
export class H264Depacketizer {
  readonly #maxBytes: number;
  readonly #maxNalus: number;
  readonly #ready: H264AccessUnit[] = [];
  #nalus: Buffer[] = [];
  #bytes = 0;
  #timestamp: number | undefined;
  #ssrc: number | undefined;
  #lastSeq: number | undefined;
  /** The current access unit exceeded a limit: discard until the next one. */
  #discarding = false;
  #fu: Buffer[] | undefined;
  #fuBytes = 0;
  /** A fragment sequence broke: ignore fragments until the next start bit. */
  #fuSkipping = false;
  readonly stats: H264DepacketizerStats = {
    packets: 0,
    accessUnits: 0,
    invalidPackets: 0,
    lostPackets: 0,
    droppedFragmentedNalus: 0,
    droppedAccessUnits: 0,
  };

  constructor(opts: H264DepacketizerOptions = {}) {
    const maxBytes = opts.maxAccessUnitBytes ?? DEFAULT_H264_DEPACKETIZER_OPTIONS.maxAccessUnitBytes;
    if (!Number.isInteger(maxBytes) || maxBytes < 1024 || maxBytes > 256 * 1024 * 1024) {
      throw new RangeError(
        `H264Depacketizer: maxAccessUnitBytes must be an integer 1024..268435456, got ${String(maxBytes)}`,
      );
    }
    const maxNalus = opts.maxNalusPerAccessUnit ?? DEFAULT_H264_DEPACKETIZER_OPTIONS.maxNalusPerAccessUnit;
    if (!Number.isInteger(maxNalus) || maxNalus < 1 || maxNalus > 65_536) {
      throw new RangeError(
        `H264Depacketizer: maxNalusPerAccessUnit must be an integer 1..65536, got ${String(maxNalus)}`,
      );
    }
    this.#maxBytes = maxBytes;
    this.#maxNalus = maxNalus;
  }

  /**
   * Feeds one RTP packet. Returns an access unit when one completes. In the
   * rare case one packet completes two (the previous unit lost its marker and
   * this packet is a whole unit), the second is returned by the next call;
   * use `pushAll` to get both at once.
   */
  push(rtpPacket: Buffer): H264AccessUnit | undefined {
    const done = this.pushAll(rtpPacket);
    this.#ready.push(...done);
    return this.#ready.shift();
  }

  /** Feeds one RTP packet and returns every access unit it completed (0, 1 or 2). */
  pushAll(rtpPacket: Buffer): H264AccessUnit[] {
    const out: H264AccessUnit[] = [];
    if (this.#ready.length > 0) out.push(...this.#ready.splice(0));
    const h = parseRtpHeader(rtpPacket);
    this.stats.packets++;
    if (!h || h.payload.length === 0) {
      this.stats.invalidPackets++;
      return out;
    }
    if (this.#ssrc !== undefined && h.ssrc !== this.#ssrc) {
      // A new source (camera restarted the stream): nothing of the old one carries over.
      this.#resetAccessUnit();
      this.#lastSeq = undefined;
    }
    this.#ssrc = h.ssrc;
    if (this.#lastSeq !== undefined) {
      const d = seqDelta(this.#lastSeq, h.sequenceNumber);
      if (d <= 0) {
        // Duplicate or reordered-late packet: over TCP this does not happen; over UDP we do not reorder.
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
    this.#handlePayload(h);
    if (h.marker) {
      const au = this.#finish();
      if (au) out.push(au);
    }
    return out;
  }

  /** Forgets any partial access unit and sequence state (after a reconnect). */
  reset(): void {
    this.#resetAccessUnit();
    this.#ready.length = 0;
    this.#lastSeq = undefined;
    this.#ssrc = undefined;
  }

  #handlePayload(h: RtpHeader): void {
    const p = h.payload;
    const type = p[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      this.#addNalu(p); // RFC 6184 §5.6 single NAL unit packet
    } else if (type === NAL_TYPE.STAP_A) {
      this.#handleStapA(p);
    } else if (type === NAL_TYPE.FU_A) {
      this.#handleFuA(p);
    } else {
      // STAP-B, MTAP16/24 and FU-B only exist in interleaved mode (packetization-mode 2), which we do not
      // negotiate; 0 and 30-31 are reserved (RFC 6184 Table 1).
      this.stats.invalidPackets++;
    }
  }

  /** RFC 6184 §5.7.1: STAP-A header, then repeated 16-bit size + NAL unit. */
  #handleStapA(p: Buffer): void {
    const units: Buffer[] = [];
    let off = 1;
    while (off < p.length) {
      if (off + 2 > p.length) return void this.stats.invalidPackets++;
      const size = p.readUInt16BE(off);
      off += 2;
      if (size === 0 || off + size > p.length) return void this.stats.invalidPackets++;
      units.push(p.subarray(off, off + size));
      off += size;
    }
    if (units.length === 0) return void this.stats.invalidPackets++;
    for (const u of units) this.#addNalu(u);
  }

  /** RFC 6184 §5.8: FU indicator (F|NRI|28), FU header (S|E|R|type), fragment. */
  #handleFuA(p: Buffer): void {
    if (p.length < 3) return void this.stats.invalidPackets++;
    const fuHeader = p[1]!;
    const start = (fuHeader & 0x80) !== 0;
    const end = (fuHeader & 0x40) !== 0;
    if (start && end) return void this.stats.invalidPackets++; // §5.8: S and E must not both be set
    const data = p.subarray(2);
    if (start) {
      if (this.#fu) {
        this.stats.droppedFragmentedNalus++; // the previous one never ended
      }
      this.#fuSkipping = false;
      this.#fu = [Buffer.from([(p[0]! & 0xe0) | (fuHeader & 0x1f)]), data];
      this.#fuBytes = 1 + data.length;
    } else if (!this.#fu) {
      // A middle or end fragment without its start: the start was lost. Count the NAL once.
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
      const nalu = Buffer.concat(this.#fu, this.#fuBytes); // a fresh buffer: #addNalu need not copy it
      this.#fu = undefined;
      this.#fuBytes = 0;
      this.#addNalu(nalu, true);
    }
  }

  /** A packet went missing: an FU-A in progress can no longer be completed. */
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
    // Copy a slice of the packet: its buffer belongs to the transport, which may reuse it.
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
    return { nalus, timestamp, keyframe: nalus.some((n) => nalType(n) === NAL_TYPE.IDR) };
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
