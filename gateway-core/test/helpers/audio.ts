/**
 * Audio for RTSP tests: a sine tone, and AAC both ways through FFmpeg (a child process with an argument array):
 * access units decoded (fed as ADTS), PCM encoded into raw access units.
 * The dominant frequency comes from @camgate/test-helpers, G.711 (ITU-T G.711) from the simulated camera's
 * codec (@camgate/camera-sim), so tests and simulator share one implementation. For the engine's tests:
 * AAC clips made by FFmpeg split into raw access units, and G.711 tones in 20 ms frames.
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { g711Encode, type G711Law } from '@camgate/camera-sim';
import { adtsFrame, parseAudioSpecificConfig } from '../../src/rtsp/aac.js';

/** `seconds` of a sine at `hz`, amplitude `amp` (of full scale), as 16-bit samples. */
export function sine(hz: number, sampleRate: number, seconds: number, amp = 0.3, phase = 0): Int16Array {
  const out = new Int16Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(amp * 32767 * Math.sin(phase + (2 * Math.PI * hz * i) / sampleRate));
  return out;
}

/** RMS of the samples, as a fraction of full scale. */
export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return pcm.length === 0 ? 0 : Math.sqrt(sum / pcm.length) / 32768;
}

/** Runs FFmpeg with `args`, `input` on stdin; resolves with stdout. Killed after 30 s. */
async function ffmpeg(args: string[], input: Buffer): Promise<Buffer> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  child.stdin.on('error', () => {}); // FFmpeg may exit first; its exit code tells
  child.stdin.end(input);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${err}`);
  return Buffer.concat(out);
}

/** AAC access units (raw, as the RTSP client emits them) decoded by FFmpeg to mono 16-bit PCM at `sampleRate`. */
export async function decodeAac(config: Buffer, aus: Buffer[], sampleRate: number): Promise<Int16Array> {
  const asc = parseAudioSpecificConfig(config);
  if (!asc) throw new Error('unreadable AudioSpecificConfig');
  const adts = Buffer.concat(aus.map((au) => adtsFrame(asc, au) ?? Buffer.alloc(0)));
  const args = ['-f', 'aac', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', String(sampleRate), 'pipe:1'];
  return pcmFromBytes(await ffmpeg(args, adts));
}

/** Mono PCM encoded by FFmpeg to AAC-LC; the raw access units (ADTS headers removed, ISO/IEC 14496-3 §1.A.2.2). */
export async function encodeAac(pcm: Int16Array, sampleRate: number): Promise<Buffer[]> {
  const input = Buffer.alloc(pcm.length * 2);
  pcm.forEach((v, i) => input.writeInt16LE(v, 2 * i));
  const args = ['-f', 's16le', '-ar', String(sampleRate), '-ac', '1', '-i', 'pipe:0', '-c:a', 'aac', '-b:a', '32k'];
  const adts = await ffmpeg([...args, '-f', 'adts', 'pipe:1'], input);
  const aus: Buffer[] = [];
  for (let at = 0; at + 7 <= adts.length;) {
    const length = ((adts[at + 3]! & 3) << 11) | (adts[at + 4]! << 3) | (adts[at + 5]! >> 5);
    const header = adts[at + 1]! & 1 ? 7 : 9; // protection_absent 0: a CRC follows
    if (adts[at] !== 0xff || length < header || at + length > adts.length) throw new Error('bad ADTS from FFmpeg');
    aus.push(adts.subarray(at + header, at + length));
    at += length;
  }
  return aus;
}

/** 16-bit little-endian PCM bytes as samples (copied: a Buffer's offset need not be even). */
export function pcmFromBytes(bytes: Buffer): Int16Array {
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
  return pcm;
}

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

/** A G.711 tone in 20 ms frames (160 samples at 8 kHz, RFC 3551 §4.5.14), starting at sample `from`. */
export function g711Tone(law: G711Law, hz: number, frames: number, from = 0): Buffer[] {
  const pcm = Int16Array.from({ length: frames * 160 }, (_, i) =>
    Math.round(12000 * Math.sin((2 * Math.PI * hz * (from + i)) / 8000)),
  );
  const octets = g711Encode(law, pcm);
  return Array.from({ length: frames }, (_, f) => octets.subarray(f * 160, (f + 1) * 160));
}
