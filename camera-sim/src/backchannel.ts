/**
 * The simulated camera's speaker: RTP that a client sends on the ONVIF back
 * channel (ONVIF Streaming Specification §5.3) is validated, decoded and kept
 * for the last `maxSeconds`, so tests can check what was said to the camera.
 *
 * Every packet comes from the network: size-limited, RTP version 2 with the
 * announced payload type, payload well-formed for the codec (RFC 3640 AU
 * headers for AAC). Anything else is dropped and counted, never thrown.
 */
import { parseRtpHeader } from '@camgate/core/rtsp-wire';
import { AAC_FRAME_SAMPLES, decodeAac } from './aac-ffmpeg.js';
import type { AudioFormat, SimAudioCodec } from './audio-track.js';
import { g711Decode } from './g711.js';

/** Largest back-channel RTP packet accepted: an Ethernet MTU's worth, as real talk-back clients send. */
export const MAX_BACKCHANNEL_PACKET_BYTES = 1500;
const MAX_G711_PAYLOAD = 1600; // octets: 200 ms at 8000 Hz, the most a sane sender puts in one packet

/** What the back channel recorded: mono 16-bit PCM of the last seconds, in arrival order. */
export interface BackchannelRecording {
  codec: SimAudioCodec;
  sampleRate: number;
  pcm: Int16Array;
  /** Packets accepted in total (dropped ones not counted). */
  packets: number;
}

export class BackchannelRecorder {
  readonly format: AudioFormat;
  readonly #ffmpeg: string | undefined;
  readonly #maxUnits: number;
  /** G.711: decoded sample chunks; AAC: raw AUs (decoded when read). Oldest first, trimmed to `maxSeconds`. */
  #chunks: (Int16Array | Buffer)[] = [];
  #units = 0;
  #packets = 0;
  #dropped = 0;

  constructor(format: AudioFormat, maxSeconds: number, ffmpeg: string | undefined) {
    this.format = format;
    this.#ffmpeg = ffmpeg;
    const samples = maxSeconds * format.clockRate;
    this.#maxUnits = format.codec === 'AAC' ? Math.ceil(samples / AAC_FRAME_SAMPLES) : samples;
  }

  get packets(): number {
    return this.#packets;
  }

  get dropped(): number {
    return this.#dropped;
  }

  /** Counts a packet that arrived when it could not be taken (its session was not playing). */
  reject(): void {
    this.#dropped++;
  }

  /** Takes one RTP packet; returns false (and counts it) when it is dropped. */
  push(packet: Buffer): boolean {
    const units = packet.length <= MAX_BACKCHANNEL_PACKET_BYTES ? this.#parse(packet) : undefined;
    if (!units) {
      this.#dropped++;
      return false;
    }
    this.#packets++;
    for (const u of units) {
      this.#chunks.push(u);
      this.#units += this.#unitsOf(u);
    }
    while (this.#units > this.#maxUnits && this.#chunks.length > 1) this.#units -= this.#unitsOf(this.#chunks.shift()!);
    return true;
  }

  /** AAC counts AUs, G.711 samples. */
  #unitsOf(chunk: Int16Array | Buffer): number {
    return this.format.codec === 'AAC' ? 1 : chunk.length;
  }

  #parse(packet: Buffer): (Int16Array | Buffer)[] | undefined {
    const rtp = parseRtpHeader(packet);
    if (!rtp || rtp.payloadType !== this.format.payloadType || rtp.payload.length === 0) return undefined;
    if (this.format.codec !== 'AAC') {
      if (rtp.payload.length > MAX_G711_PAYLOAD) return undefined;
      return [g711Decode(this.format.codec, rtp.payload)];
    }
    return parseAacHbr(rtp.payload);
  }

  /** The recording so far; AAC is decoded by FFmpeg here. */
  async recording(): Promise<BackchannelRecording> {
    const { codec, clockRate } = this.format;
    let pcm: Int16Array;
    if (codec === 'AAC') {
      if (!this.#ffmpeg) throw new Error('decoding the AAC back channel needs FFmpeg');
      pcm = await decodeAac(this.#ffmpeg, this.#chunks as Buffer[], clockRate, this.format.channels);
    } else {
      pcm = new Int16Array(this.#units);
      let off = 0;
      for (const c of this.#chunks as Int16Array[]) {
        pcm.set(c, off);
        off += c.length;
      }
    }
    return { codec, sampleRate: clockRate, pcm, packets: this.#packets };
  }
}

/**
 * The AUs of an RFC 3640 AAC-hbr payload (§3.2.1, §3.3.6): AU-headers-length in bits, then 16-bit AU headers
 * (13-bit size, 3-bit index or index-delta), then the AUs, whose sizes must add up to the rest exactly.
 * Fragmented AUs (one AU over several packets) are not accepted: a talk-back AU is far below the MTU.
 */
export function parseAacHbr(payload: Buffer): Buffer[] | undefined {
  if (payload.length < 2) return undefined;
  const bits = payload.readUInt16BE(0);
  if (bits === 0 || bits % 16 !== 0) return undefined;
  const count = bits / 16;
  let off = 2 + count * 2;
  if (off > payload.length) return undefined;
  const aus: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const size = payload.readUInt16BE(2 + i * 2) >> 3;
    if (size === 0 || off + size > payload.length) return undefined;
    aus.push(Buffer.from(payload.subarray(off, off + size)));
    off += size;
  }
  return off === payload.length ? aus : undefined;
}
