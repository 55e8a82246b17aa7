/**
 * Cuts what FFmpeg writes for a camera's back channel into RTP payloads with
 * their timestamps (talkback.ts sends them with `RtspClient.sendBackchannel`):
 *
 * - G.711 (PCMA/PCMU, RFC 3551 §4.5.14): one byte per sample; 20 ms packets
 *   (160 samples at 8 kHz), the packet time RFC 3551 §4.5 sets as default.
 * - AAC (RFC 3640 §3.3.6, mode AAC-hbr): FFmpeg writes ADTS (ISO/IEC 13818-7
 *   §6.2); each frame's header is removed and the raw access unit is sent with
 *   one AU header (13-bit size, 3-bit index). An AAC frame is 1024 samples, so
 *   AAC packets are 1024 samples long, not 20 ms.
 *
 * `RtpClock` turns sample counts into RTP timestamps (RFC 3550 §5.1: random
 * start, clock-rate units) and skips ahead over the gaps when the talker was
 * silent long enough for FFmpeg to write nothing (the browser stops sending
 * during DTX), so the camera's jitter buffer sees the pause instead of a
 * compressed run of samples.
 */
import { randomBytes } from 'node:crypto';

export interface BackchannelPacket {
  payload: Buffer;
  /** Samples since the start of the talk, at the back channel's clock rate. */
  samples: number;
}

/** Default packet time for G.711 (RFC 3551 §4.5: 20 ms). */
export const G711_PACKET_MS = 20;
/** Samples in one AAC-LC access unit (ISO/IEC 14496-3 §4.5.1.1: frameLengthFlag 0). */
export const AAC_FRAME_SAMPLES = 1024;
/** Longest ADTS frame: the 13-bit frame_length field. */
const MAX_ADTS_FRAME = 0x1fff;

/** G.711: fixed-size packets of `clockRate * packetMs / 1000` one-byte samples. */
export class G711Packetizer {
  readonly packetBytes: number;
  #pending: Buffer = Buffer.alloc(0);
  #samples = 0;

  constructor(clockRate = 8000, packetMs = G711_PACKET_MS) {
    if (!Number.isInteger(clockRate) || clockRate < 8000 || clockRate > 48_000) {
      throw new RangeError(`G711Packetizer clockRate: ${clockRate} is not allowed (8000-48000 Hz)`);
    }
    if (!Number.isInteger(packetMs) || packetMs < 10 || packetMs > 100) {
      throw new RangeError(`G711Packetizer packetMs: ${packetMs} is not allowed (10-100 ms)`);
    }
    this.packetBytes = (clockRate * packetMs) / 1000;
  }

  push(chunk: Buffer): BackchannelPacket[] {
    const data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: BackchannelPacket[] = [];
    let off = 0;
    for (; off + this.packetBytes <= data.length; off += this.packetBytes) {
      out.push({ payload: Buffer.from(data.subarray(off, off + this.packetBytes)), samples: this.#samples });
      this.#samples += this.packetBytes;
    }
    this.#pending = Buffer.from(data.subarray(off));
    return out;
  }
}

/** Splits an ADTS byte stream into raw AAC access units (headers removed), resynchronising on garbage. */
export class AdtsSplitter {
  #pending: Buffer = Buffer.alloc(0);
  #samples = 0;

  push(chunk: Buffer): BackchannelPacket[] {
    let data = this.#pending.length ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: BackchannelPacket[] = [];
    for (;;) {
      // Syncword 0xFFF, layer 00 (ISO/IEC 13818-7 §6.2.1).
      let start = 0;
      while (start + 1 < data.length && !(data[start] === 0xff && (data[start + 1]! & 0xf6) === 0xf0)) start++;
      data = data.subarray(start);
      if (data.length < 7) break;
      const protectionAbsent = data[1]! & 1;
      const headerLen = protectionAbsent ? 7 : 9;
      const frameLen = ((data[3]! & 0x03) << 11) | (data[4]! << 3) | (data[5]! >> 5);
      const rawBlocks = (data[6]! & 0x03) + 1;
      if (frameLen <= headerLen || frameLen > MAX_ADTS_FRAME) {
        data = data.subarray(1); // not a frame: look for the next syncword
        continue;
      }
      if (data.length < frameLen) break;
      out.push({ payload: Buffer.from(data.subarray(headerLen, frameLen)), samples: this.#samples });
      this.#samples += AAC_FRAME_SAMPLES * rawBlocks;
      data = data.subarray(frameLen);
    }
    this.#pending = Buffer.from(data);
    return out;
  }
}

/**
 * One AAC access unit as an RFC 3640 AAC-hbr payload (§3.3.6): AU-headers-length (16 bits, in bits) = 16,
 * then one AU header: AU-size (13 bits) and AU-Index 0 (3 bits), then the access unit.
 */
export function aacHbrPayload(au: Buffer): Buffer {
  if (au.length === 0 || au.length > MAX_ADTS_FRAME) {
    throw new RangeError(`aacHbrPayload: an access unit of ${au.length} bytes is not allowed (1-${MAX_ADTS_FRAME})`);
  }
  const header = Buffer.alloc(4);
  header.writeUInt16BE(16, 0);
  header.writeUInt16BE(au.length << 3, 2);
  return Buffer.concat([header, au]);
}

/** Sample counts → RTP timestamps: random start (RFC 3550 §5.1), gaps of silence kept. */
export class RtpClock {
  readonly #clockRate: number;
  readonly #base: number;
  /** Samples added for pauses so far. */
  #skipped = 0;
  #lastWallMs: number | undefined;
  #lastEnd = 0;

  constructor(clockRate: number, base: number = randomBytes(4).readUInt32BE(0)) {
    this.#clockRate = clockRate;
    this.#base = base >>> 0;
  }

  /**
   * The RTP timestamp of a packet starting at `samples` that is ready at `nowMs` and lasts `duration` samples.
   * When the talker paused (the packet comes more than its own length plus 100 ms after the previous one ended),
   * the wall-clock gap is added so the pause is not squeezed out.
   */
  stamp(samples: number, duration: number, nowMs: number): number {
    if (this.#lastWallMs !== undefined && samples >= this.#lastEnd) {
      const expectedMs = ((samples - this.#lastEnd + duration) * 1000) / this.#clockRate;
      const gapMs = nowMs - this.#lastWallMs - expectedMs;
      if (gapMs > 100) this.#skipped += Math.round((gapMs * this.#clockRate) / 1000);
    }
    this.#lastWallMs = nowMs;
    this.#lastEnd = samples + duration;
    return (this.#base + samples + this.#skipped) >>> 0;
  }
}
