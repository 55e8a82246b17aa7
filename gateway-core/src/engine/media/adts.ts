import { CamgateError } from '../../util/index.js';

/**
 * ADTS framing for raw AAC access units, so FFmpeg can read a camera's
 * RFC 3640 audio from a pipe: the RTP payload has no framing of its own and
 * the stream's parameters live in the SDP's AudioSpecificConfig.
 * ISO/IEC 14496-3 §1.6.2.1 (AudioSpecificConfig) and §1.A.2.2 (ADTS).
 */

/** ISO/IEC 14496-3 §1.6.3.4, sampling_frequency_index 0..12. */
export const AAC_SAMPLE_RATES = [
  96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

export interface AacConfig {
  /** audioObjectType of the core coder (2 = AAC LC); ADTS carries 1..4. */
  objectType: number;
  /** sampling_frequency_index of the core coder (0..12). */
  frequencyIndex: number;
  sampleRate: number;
  /** channelConfiguration 1..7 (0 = in a program config element, which ADTS cannot describe here). */
  channels: number;
}

/** A 13-bit frame_length, header included. */
const MAX_ADTS_FRAME = 8191;
const ADTS_HEADER = 7;

function fail(why: string): never {
  throw new CamgateError('CAMGATE_ENGINE_AUDIO', `unusable AAC AudioSpecificConfig: ${why}`);
}

/** Reads an AudioSpecificConfig (from the SDP `config=` hex). Throws CAMGATE_ENGINE_AUDIO for what ADTS cannot carry. */
export function parseAudioSpecificConfig(asc: Buffer): AacConfig {
  if (!Buffer.isBuffer(asc) || asc.length < 2 || asc.length > 64) fail('must be 2..64 bytes');
  let bit = 0;
  const read = (n: number): number => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) {
      if (bit >= asc.length * 8) fail('truncated');
      v = (v << 1) | ((asc[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    return v;
  };
  const objectTypeOf = (): number => {
    const t = read(5);
    return t === 31 ? 32 + read(6) : t;
  };
  let objectType = objectTypeOf();
  const frequencyIndex = read(4);
  if (frequencyIndex === 15) fail('explicit sampling frequency (ADTS needs a table index)');
  if (frequencyIndex > 12) fail(`reserved sampling_frequency_index ${frequencyIndex}`);
  const channels = read(4);
  if (objectType === 5 || objectType === 29) {
    // HE-AAC (SBR/PS) signalled explicitly (§1.6.5.2): the core coder follows; ADTS carries the core
    // and the decoder finds SBR in the stream (implicit signalling).
    read(4); // extensionSamplingFrequencyIndex
    objectType = objectTypeOf();
  }
  if (objectType < 1 || objectType > 4) fail(`audioObjectType ${objectType} does not fit an ADTS header`);
  if (channels < 1 || channels > 7) fail(`channelConfiguration ${channels} (ADTS needs 1..7)`);
  return { objectType, frequencyIndex, sampleRate: AAC_SAMPLE_RATES[frequencyIndex]!, channels };
}

/**
 * The 7-byte ADTS header (no CRC) for one raw access unit of `payloadBytes`
 * bytes. Returns undefined when the frame does not fit ADTS's 13-bit length.
 */
export function adtsHeader(cfg: AacConfig, payloadBytes: number): Buffer | undefined {
  const len = payloadBytes + ADTS_HEADER;
  if (!Number.isInteger(payloadBytes) || payloadBytes < 1 || len > MAX_ADTS_FRAME) return undefined;
  const h = Buffer.alloc(ADTS_HEADER);
  h[0] = 0xff; // syncword 0xFFF …
  h[1] = 0xf1; // … MPEG-4, layer 0, protection_absent = 1 (no CRC)
  h[2] = ((cfg.objectType - 1) << 6) | (cfg.frequencyIndex << 2) | (cfg.channels >> 2);
  h[3] = ((cfg.channels & 3) << 6) | (len >> 11);
  h[4] = (len >> 3) & 0xff;
  h[5] = ((len & 7) << 5) | 0x1f; // buffer fullness 0x7FF: variable bit rate
  h[6] = 0xfc; // … and number_of_raw_data_blocks_in_frame = 0 (one block)
  return h;
}
