/**
 * Audio RTP to frames. G.711 (RFC 3551 §4.5.14) and Opus (RFC 7587 §4.2) carry
 * one frame per payload, passed through; AAC `mpeg4-generic` (RFC 3640) carries
 * an AU-header section and one or more access units, or one fragment of a large
 * one. Everything comes from the camera: nothing here throws on packet content,
 * a malformed packet is dropped and counted.
 */
import { parseRtpHeader, seqDelta } from './rtp.js';
import type { Rfc3640Params, RtspAudioCodec } from './sdp-audio.js';

/** One audio frame: AAC a raw access unit (no ADTS), G.711/Opus the RTP payload; RTP-clock timestamp. */
export interface RtspAudioFrame {
  payload: Buffer;
  timestamp: number;
}

export interface AudioDepacketizerStats {
  frames: number;
  /** Not RTP, empty, or an AU-header section that does not fit the payload. */
  invalidPackets: number;
  /** Another payload type than the track's (comfort noise, RFC 3389, and the like). */
  otherPayloadType: number;
  /** A sequence gap or a timestamp change cut a fragmented access unit. */
  droppedFragments: number;
  /** Larger than `maxFrameBytes`. */
  oversizedFrames: number;
}

export interface AudioDepacketizerOptions {
  codec: Exclude<RtspAudioCodec, 'OTHER'>;
  payloadType: number;
  /** AAC only: the section's RFC 3640 parameters. */
  aac?: Rfc3640Params;
  /** Largest frame kept, bytes. */
  maxFrameBytes?: number;
}

export const DEFAULT_AUDIO_DEPACKETIZER_OPTIONS = {
  // 16 KiB: an AAC frame holds at most 6144 bits per channel (ISO/IEC 14496-3 §4.5.3.1), 6 KiB for 8
  // channels; a G.711 packet of 100 ms is 800 bytes.
  maxFrameBytes: 16 * 1024,
} as const;

/** Most access units read from one packet: 64 AUs of AAC are > 1 s, far beyond any camera's packets. */
const MAX_AUS_PER_PACKET = 64;

/** Reads big-endian bit fields; `undefined` past the end. */
class Bits {
  #pos = 0;
  constructor(
    readonly buf: Buffer,
    readonly endBit: number,
  ) {}
  get pos(): number {
    return this.#pos;
  }
  read(n: number): number | undefined {
    if (n === 0) return 0;
    if (this.#pos + n > this.endBit) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++, this.#pos++) {
      v = v * 2 + ((this.buf[this.#pos >> 3]! >> (7 - (this.#pos & 7))) & 1);
    }
    return v;
  }
}

interface AuHeader {
  size: number;
  /** AU-Index of the first header, AU-Index-delta of the others. */
  index: number;
}

export class AudioDepacketizer {
  readonly #o: Required<Omit<AudioDepacketizerOptions, 'aac'>> & { aac?: Rfc3640Params };
  readonly stats: AudioDepacketizerStats = {
    frames: 0,
    invalidPackets: 0,
    otherPayloadType: 0,
    droppedFragments: 0,
    oversizedFrames: 0,
  };
  #lastSeq = -1;
  /** A fragmented AU being gathered (RFC 3640 §3.2.3). */
  #frag: { size: number; timestamp: number; parts: Buffer[]; have: number } | undefined;

  constructor(opts: AudioDepacketizerOptions) {
    if (opts.codec === 'AAC' && !opts.aac) throw new TypeError('AudioDepacketizer: AAC needs its RFC 3640 parameters');
    this.#o = { maxFrameBytes: DEFAULT_AUDIO_DEPACKETIZER_OPTIONS.maxFrameBytes, ...opts };
  }

  /** Forgets a fragment in progress and the sequence (a new connection). */
  reset(): void {
    this.#frag = undefined;
    this.#lastSeq = -1;
  }

  /** The frames one RTP packet completes (none, one, or several for AAC). */
  push(packet: Buffer): RtspAudioFrame[] {
    const rtp = parseRtpHeader(packet);
    if (!rtp || rtp.payload.length === 0) {
      this.stats.invalidPackets++;
      return [];
    }
    if (rtp.payloadType !== this.#o.payloadType) {
      this.stats.otherPayloadType++;
      return [];
    }
    const gap = this.#lastSeq >= 0 && seqDelta(this.#lastSeq, rtp.sequenceNumber) !== 1;
    this.#lastSeq = rtp.sequenceNumber;
    if (this.#o.codec !== 'AAC') return this.#emit([{ payload: rtp.payload, timestamp: rtp.timestamp }]);
    if (gap && this.#frag) this.#dropFragment();
    return this.#emit(this.#aac(rtp.payload, rtp.timestamp, rtp.marker));
  }

  #emit(frames: RtspAudioFrame[]): RtspAudioFrame[] {
    const out: RtspAudioFrame[] = [];
    for (const f of frames) {
      if (f.payload.length > this.#o.maxFrameBytes) this.stats.oversizedFrames++;
      else out.push(f);
    }
    this.stats.frames += out.length;
    return out;
  }

  #dropFragment(): void {
    this.#frag = undefined;
    this.stats.droppedFragments++;
  }

  #invalid(): RtspAudioFrame[] {
    this.stats.invalidPackets++;
    if (this.#frag) this.#dropFragment();
    return [];
  }

  /** RFC 3640 §3.2: AU-header section, optional auxiliary section, then the access unit(s). */
  #aac(payload: Buffer, timestamp: number, marker: boolean): RtspAudioFrame[] {
    const p = this.#o.aac!;
    if (payload.length < 2) return this.#invalid();
    const headerBits = payload.readUInt16BE(0); // §3.2.1: AU-headers-length, in bits
    const headerEnd = 2 + Math.ceil(headerBits / 8);
    if (headerEnd > payload.length) return this.#invalid();
    const headers = this.#auHeaders(new Bits(payload.subarray(2, headerEnd), headerBits), p);
    if (!headers) return this.#invalid();
    let offset = headerEnd;
    if (p.auxiliaryDataSizeLength > 0) {
      // §3.2.2: auxiliary-data-size (bits) then the data, padded to a byte; we skip it.
      const aux = new Bits(payload.subarray(offset), (payload.length - offset) * 8);
      const size = aux.read(p.auxiliaryDataSizeLength);
      if (size === undefined) return this.#invalid();
      offset += Math.ceil((p.auxiliaryDataSizeLength + size) / 8);
      if (offset > payload.length) return this.#invalid();
    }
    const data = payload.subarray(offset);
    if (headers.length === 1 && headers[0]!.size > data.length) {
      return this.#fragment(headers[0]!.size, data, timestamp, marker);
    }
    if (this.#frag) this.#dropFragment(); // whole AUs while a fragment was open: its end never came
    const out: RtspAudioFrame[] = [];
    let at = 0;
    let index = 0;
    for (let i = 0; i < headers.length; i++) {
      const h = headers[i]!;
      // §3.2.1.1: AU-Index-delta n means the AU is n+1 after the previous one; frames are frameDuration apart.
      index = i === 0 ? 0 : index + h.index + 1;
      if (at + h.size > data.length) return this.#invalid();
      if (h.size === 0) continue;
      out.push({ payload: data.subarray(at, at + h.size), timestamp: (timestamp + index * p.frameDuration) >>> 0 });
      at += h.size;
    }
    return out;
  }

  /** §3.2.3: one AU-header whose AU-size is the whole AU; fragments share the timestamp; marker on the last. */
  #fragment(size: number, data: Buffer, timestamp: number, marker: boolean): RtspAudioFrame[] {
    if (size > this.#o.maxFrameBytes) {
      this.stats.oversizedFrames++;
      if (this.#frag) this.#dropFragment();
      return [];
    }
    const f = this.#frag;
    if (f && (f.size !== size || f.timestamp !== timestamp)) this.#dropFragment();
    const cur = this.#frag ?? (this.#frag = { size, timestamp, parts: [], have: 0 });
    if (data.length === 0) return this.#invalid();
    cur.parts.push(data);
    cur.have += data.length;
    if (cur.have > size) return this.#invalid();
    if (!marker) return [];
    this.#frag = undefined;
    if (cur.have !== size) {
      this.stats.droppedFragments++; // a middle fragment was lost without a sequence gap we could see
      return [];
    }
    return [{ payload: Buffer.concat(cur.parts, size), timestamp }];
  }

  /** §3.2.1: the AU-headers; undefined when they do not parse or are not whole. */
  #auHeaders(bits: Bits, p: Rfc3640Params): AuHeader[] | undefined {
    const out: AuHeader[] = [];
    while (bits.pos < bits.endBit) {
      if (out.length >= MAX_AUS_PER_PACKET) return undefined;
      const size = bits.read(p.sizeLength);
      const index = bits.read(out.length === 0 ? p.indexLength : p.indexDeltaLength);
      if (size === undefined || index === undefined) return undefined;
      // CTS-flag/CTS-delta and DTS-flag/DTS-delta: read past them (AAC's composition times follow the index).
      for (const len of [p.ctsDeltaLength, p.dtsDeltaLength]) {
        if (len === 0) continue;
        const flag = bits.read(1);
        if (flag === undefined || (flag === 1 && bits.read(len) === undefined)) return undefined;
      }
      if (p.randomAccessIndication && bits.read(1) === undefined) return undefined;
      if (bits.read(p.streamStateIndication) === undefined) return undefined;
      out.push({ size, index });
    }
    return out.length > 0 ? out : undefined;
  }
}
