/**
 * Test audio: real AAC from FFmpeg (a sine tone, split from ADTS into raw
 * access units plus the AudioSpecificConfig an RTSP camera puts in its SDP)
 * and G.711 A-law/µ-law tones encoded here (ITU-T G.711).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface AacClip {
  /** AudioSpecificConfig (ISO/IEC 14496-3 §1.6.2.1), as an SDP `config=` gives it. */
  config: Buffer;
  sampleRate: number;
  /** Raw access units, ADTS headers removed (what RFC 3640 carries). */
  frames: Buffer[];
}

/** Splits an ADTS stream into raw access units (ISO/IEC 14496-3 §1.A.2.2) and rebuilds the AudioSpecificConfig. */
export function splitAdts(adts: Buffer): AacClip {
  const frames: Buffer[] = [];
  let pos = 0;
  let config: Buffer | undefined;
  let sampleRate = 0;
  const rates = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  while (pos + 7 <= adts.length) {
    if (adts[pos] !== 0xff || (adts[pos + 1]! & 0xf0) !== 0xf0) throw new Error(`no ADTS sync at ${pos}`);
    const noCrc = adts[pos + 1]! & 1;
    const profile = adts[pos + 2]! >> 6;
    const freq = (adts[pos + 2]! >> 2) & 15;
    const channels = ((adts[pos + 2]! & 1) << 2) | (adts[pos + 3]! >> 6);
    const len = ((adts[pos + 3]! & 3) << 11) | (adts[pos + 4]! << 3) | (adts[pos + 5]! >> 5);
    const head = noCrc ? 7 : 9;
    frames.push(Buffer.from(adts.subarray(pos + head, pos + len)));
    if (!config) {
      const aot = profile + 1;
      config = Buffer.from([(aot << 3) | (freq >> 1), ((freq & 1) << 7) | (channels << 3)]);
      sampleRate = rates[freq]!;
    }
    pos += len;
  }
  if (!config) throw new Error('no ADTS frame');
  return { config, sampleRate, frames };
}

/** `seconds` of a `hz` sine as AAC-LC mono at `sampleRate`, made by FFmpeg. */
export async function aacTone(hz: number, seconds: number, sampleRate = 16000): Promise<AacClip> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=${hz}:sample_rate=${sampleRate}:duration=${seconds}`,
      '-c:a',
      'aac',
      '-b:a',
      '48k',
      '-ac',
      '1',
      '-f',
      'adts',
      'pipe:1',
    ],
    { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 },
  );
  return splitAdts(stdout);
}

/** ITU-T G.711 A-law of one 16-bit sample. */
export function linearToAlaw(sample: number): number {
  let s = sample >> 3; // 13-bit magnitude
  let mask = 0xd5;
  if (s < 0) {
    mask = 0x55;
    s = -s - 1;
  }
  const seg = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff].findIndex((end) => s <= end);
  if (seg < 0) return 0x7f ^ mask;
  const aval = (seg << 4) | (seg < 2 ? (s >> 1) & 0xf : (s >> seg) & 0xf);
  return aval ^ mask;
}

/** ITU-T G.711 µ-law of one 16-bit sample. */
export function linearToUlaw(sample: number): number {
  const BIAS = 0x84;
  let s = sample;
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  s = Math.min(s, 32635) + BIAS;
  let exp = 7;
  for (let m = 0x4000; (s & m) === 0 && exp > 0; m >>= 1) exp--;
  const mant = (s >> (exp + 3)) & 0xf;
  return ~(sign | (exp << 4) | mant) & 0xff;
}

/** A G.711 tone in 20 ms frames (160 samples at 8 kHz, RFC 3551 §4.5.14), starting at sample `from`. */
export function g711Tone(law: 'PCMA' | 'PCMU', hz: number, frames: number, from = 0): Buffer[] {
  const enc = law === 'PCMA' ? linearToAlaw : linearToUlaw;
  const out: Buffer[] = [];
  for (let f = 0; f < frames; f++) {
    const b = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) {
      const n = from + f * 160 + i;
      b[i] = enc(Math.round(12000 * Math.sin((2 * Math.PI * hz * n) / 8000)));
    }
    out.push(b);
  }
  return out;
}
