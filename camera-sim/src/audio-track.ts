/**
 * The simulated camera's audio formats and the payloads of its audio track:
 * G.711 (RFC 3551 §4.5.14, static payload types 0 = PCMU and 8 = PCMA,
 * 8000 Hz, 20 ms per packet as §4.5 recommends) and AAC-LC as RFC 3640
 * `mpeg4-generic` in AAC-hbr mode, one AU per packet behind its AU-header
 * section — how IP cameras send them.
 */
import { AAC_FRAME_SAMPLES, aacConfig, encodeAacLoop } from './aac-ffmpeg.js';
import { fillSignal, type AudioSignalSpec } from './audio-signal.js';
import { g711Encode } from './g711.js';

export type SimAudioCodec = 'AAC' | 'PCMA' | 'PCMU';
export const SIM_AUDIO_CODECS: readonly SimAudioCodec[] = ['AAC', 'PCMA', 'PCMU'];

/** One audio RTP format as the SDP announces it. */
export interface AudioFormat {
  codec: SimAudioCodec;
  payloadType: number;
  clockRate: number;
  channels: 1;
  /** AAC AudioSpecificConfig (the fmtp `config`). */
  config?: Buffer;
}

const G711_PACKET_SAMPLES = 160; // 20 ms at 8000 Hz (RFC 3551 §4.5: default packetization interval)
const STATIC_PT = { PCMU: 0, PCMA: 8 } as const; // RFC 3551 Table 4

/** The format of `codec` at `sampleRate`; AAC takes the dynamic payload type `dynamicPt`. */
export function audioFormat(codec: SimAudioCodec, sampleRate: number, dynamicPt: number): AudioFormat {
  if (codec === 'AAC') {
    return { codec, payloadType: dynamicPt, clockRate: sampleRate, channels: 1, config: aacConfig(sampleRate, 1) };
  }
  return { codec, payloadType: STATIC_PT[codec], clockRate: 8000, channels: 1 };
}

/** SDP attributes of a format: rtpmap, and fmtp for AAC (RFC 3640 §4.1, AAC-hbr as in its §3.3.6 example). */
export function audioSdpLines(f: AudioFormat): string[] {
  if (f.codec !== 'AAC') return [`a=rtpmap:${f.payloadType} ${f.codec}/${f.clockRate}`];
  const fmtp = [
    'streamtype=5', // audio stream (ISO/IEC 14496-1 Table 6)
    'profile-level-id=1',
    'mode=AAC-hbr',
    'sizelength=13',
    'indexlength=3',
    'indexdeltalength=3',
    `config=${(f.config ?? Buffer.alloc(0)).toString('hex')}`,
  ].join(';');
  return [`a=rtpmap:${f.payloadType} MPEG4-GENERIC/${f.clockRate}/${f.channels}`, `a=fmtp:${f.payloadType} ${fmtp}`];
}

/** RFC 3640 §3.2.1: AU-headers-length (16 bits) and one AU-header (13-bit AU-size, 3-bit AU-Index 0), then the AU. */
export function aacHbrPayload(au: Buffer): Buffer {
  const out = Buffer.allocUnsafe(4 + au.length);
  out.writeUInt16BE(16, 0);
  out.writeUInt16BE(au.length << 3, 2);
  au.copy(out, 4);
  return out;
}

export interface AudioSourceOptions extends AudioSignalSpec {
  codec: SimAudioCodec;
  /** FFmpeg executable, needed for AAC. */
  ffmpeg?: string;
}

/** The camera's microphone: packet p carries samples p·samplesPerPacket … on the camera's clock. */
export class AudioSource {
  readonly format: AudioFormat;
  readonly samplesPerPacket: number;
  readonly #spec: AudioSignalSpec;
  readonly #aac: Buffer[] | undefined;
  readonly #scratch: Int16Array;

  private constructor(format: AudioFormat, spec: AudioSignalSpec, aac: Buffer[] | undefined) {
    this.format = format;
    this.#spec = spec;
    this.#aac = aac;
    this.samplesPerPacket = aac ? AAC_FRAME_SAMPLES : G711_PACKET_SAMPLES;
    this.#scratch = new Int16Array(this.samplesPerPacket);
  }

  /** Prepares the track; for AAC this encodes one period with FFmpeg (about a second of CPU at most). */
  static async create(o: AudioSourceOptions): Promise<AudioSource> {
    const spec: AudioSignalSpec = { sampleRate: o.sampleRate, toneHz: o.toneHz };
    if (o.syncEverySeconds !== undefined) spec.syncEverySeconds = o.syncEverySeconds;
    if (o.codec !== 'AAC') return new AudioSource(audioFormat(o.codec, 8000, 0), spec, undefined);
    if (!o.ffmpeg) throw new Error('AAC needs FFmpeg');
    const loop = await encodeAacLoop(o.ffmpeg, spec);
    return new AudioSource(audioFormat('AAC', o.sampleRate, 97), spec, loop.aus.map(aacHbrPayload));
  }

  /** Milliseconds of audio per packet. */
  get packetMs(): number {
    return (this.samplesPerPacket * 1000) / this.format.clockRate;
  }

  /** The RTP payload of packet `p`. */
  payload(p: number): Buffer {
    if (this.#aac) return this.#aac[p % this.#aac.length]!;
    fillSignal(this.#spec, p * this.samplesPerPacket, this.#scratch);
    return g711Encode(this.format.codec as 'PCMA' | 'PCMU', this.#scratch);
  }
}
