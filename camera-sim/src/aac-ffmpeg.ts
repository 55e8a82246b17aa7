/**
 * AAC-LC through FFmpeg, for the simulated camera's AAC track and for reading
 * what its AAC back channel received. FFmpeg runs as a child with an argument
 * array (never a shell), audio only, stdin to stdout.
 *
 * The camera's track is encoded once at start: two periods of the signal, of
 * which the AUs of the second are kept and replayed in a loop, so streaming
 * costs no CPU. The second period's first AU was encoded after the end of the
 * first period, which is the same audio as the end of the second, so the
 * loop joins without a click (AAC frames overlap their predecessor, ISO/IEC
 * 14496-3 §4.6.11). FFmpeg's encoder delays its output by one frame of
 * priming (1024 samples, its `initial_padding`): AU j decodes to input
 * samples (j−1)·1024 …, so AU j = P/1024 + 1 + k carries loop position k·1024
 * and a decoder plays the beep at the RTP timestamp of its first sample.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fillSignal, signalPeriodSamples, type AudioSignalSpec } from './audio-signal.js';

/** Samples per AAC-LC access unit (ISO/IEC 14496-3 frameLengthFlag 0). */
export const AAC_FRAME_SAMPLES = 1024;
/** FFmpeg's AAC encoder priming, in samples (libavcodec/aacenc.c sets initial_padding to one frame). */
const FFMPEG_AAC_PRIMING = 1024;
/** MPEG-4 sampling frequency index table (ISO/IEC 14496-3 Table 1.18). */
const SAMPLING_INDEX = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
const FFMPEG_TIMEOUT_MS = 120_000; // 2 min: the longest loop (60 s marks at 8 kHz) encodes in a few seconds
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024; // far above any loop or 60 s recording; a runaway child is cut off

let lookup: string | null | undefined;

/** The `ffmpeg` on PATH (or `CAMGATE_FFMPEG`), looked up once per process; undefined when absent. */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (lookup !== undefined) return lookup ?? undefined;
  const candidates = env.CAMGATE_FFMPEG
    ? [env.CAMGATE_FFMPEG]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((d) => d.startsWith('/'))
        .map((d) => join(d, 'ffmpeg'));
  lookup = null;
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      lookup = c;
      break;
    } catch {
      // not here
    }
  }
  return lookup ?? undefined;
}

/** The 2-byte AudioSpecificConfig of AAC-LC (ISO/IEC 14496-3 §1.6.2.1): object type 2, rate index, channels. */
export function aacConfig(sampleRate: number, channels: number): Buffer {
  const index = SAMPLING_INDEX.indexOf(sampleRate);
  if (index < 0) throw new RangeError(`AAC sample rate ${sampleRate} has no sampling frequency index`);
  const v = (2 << 11) | (index << 7) | (channels << 3);
  return Buffer.from([v >> 8, v & 0xff]);
}

/** Runs FFmpeg with `args`, `input` on stdin; resolves with stdout. */
function runFfmpeg(ffmpeg: string, args: string[], input: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let size = 0;
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), FFMPEG_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_OUTPUT_BYTES) child.kill('SIGKILL');
      else out.push(d);
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-1024)));
    child.stdin.on('error', () => undefined); // FFmpeg exiting early shows in its exit code
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`ffmpeg exited with ${signal ?? code}: ${stderr.trim()}`));
    });
    child.stdin.end(input);
  });
}

/** Splits an ADTS stream (ISO/IEC 14496-3 §1.A.2) into raw access units, dropping the headers. */
export function splitAdts(stream: Buffer): Buffer[] {
  const aus: Buffer[] = [];
  let off = 0;
  while (off + 7 <= stream.length) {
    if (stream[off] !== 0xff || (stream[off + 1]! & 0xf0) !== 0xf0) throw new Error(`ADTS sync lost at byte ${off}`);
    const protectionAbsent = stream[off + 1]! & 1;
    const frameLength = ((stream[off + 3]! & 0x03) << 11) | (stream[off + 4]! << 3) | (stream[off + 5]! >> 5);
    const headerLength = protectionAbsent ? 7 : 9;
    if (frameLength < headerLength || off + frameLength > stream.length) throw new Error('truncated ADTS frame');
    aus.push(stream.subarray(off + headerLength, off + frameLength));
    off += frameLength;
  }
  return aus;
}

/** Prefixes one raw AAC-LC AU with a 7-byte ADTS header, so FFmpeg's `aac` demuxer can read it. */
function adtsFrame(au: Buffer, sampleRate: number, channels: number): Buffer {
  const index = SAMPLING_INDEX.indexOf(sampleRate);
  const len = au.length + 7;
  const h = Buffer.from([
    0xff,
    0xf1, // MPEG-4, layer 0, no CRC
    (1 << 6) | (index << 2) | (channels >> 2), // profile LC (object type 2 − 1)
    ((channels & 3) << 6) | (len >> 11),
    (len >> 3) & 0xff,
    ((len & 7) << 5) | 0x1f,
    0xfc, // buffer fullness 0x7ff (VBR), one raw data block
  ]);
  return Buffer.concat([h, au]);
}

export interface AacLoop {
  /** Raw AUs of one period, AU k carrying samples k·1024 … of the period. */
  aus: Buffer[];
  config: Buffer;
}

/** Least common multiple of two positive integers. */
function lcm(a: number, b: number): number {
  let x = a;
  let y = b;
  while (y) [x, y] = [y, x % y];
  return (a / x) * b;
}

/** Encodes one period of the signal, in whole AUs, for replay in a loop (see the file comment). */
export async function encodeAacLoop(ffmpeg: string, spec: AudioSignalSpec): Promise<AacLoop> {
  const period = lcm(signalPeriodSamples(spec), AAC_FRAME_SAMPLES);
  // Two periods, plus two frames so the encoder's lookahead sees real audio at the end of the second.
  const pcm = fillSignal(spec, 0, new Int16Array(2 * period + 2 * AAC_FRAME_SAMPLES));
  const rate = String(spec.sampleRate);
  const bitrate = String(spec.sampleRate * 2); // 2 bit/sample: 32 kbit/s at 16 kHz, what cameras commonly send
  const args = ['-f', 's16le', '-ar', rate, '-ac', '1', '-i', 'pipe:0'];
  args.push('-c:a', 'aac', '-b:a', bitrate, '-f', 'adts', 'pipe:1');
  const aus = splitAdts(await runFfmpeg(ffmpeg, args, Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength)));
  const frames = period / AAC_FRAME_SAMPLES;
  const first = (period + FFMPEG_AAC_PRIMING) / AAC_FRAME_SAMPLES;
  if (aus.length < first + frames)
    throw new Error(`ffmpeg returned ${aus.length} AAC frames, expected ${first + frames}`);
  return { aus: aus.slice(first, first + frames).map((a) => Buffer.from(a)), config: aacConfig(spec.sampleRate, 1) };
}

/** Decodes raw AAC-LC AUs (mono or stereo) to 16-bit mono PCM at `sampleRate`. */
export async function decodeAac(
  ffmpeg: string,
  aus: Buffer[],
  sampleRate: number,
  channels: number,
): Promise<Int16Array> {
  if (aus.length === 0) return new Int16Array(0);
  const adts = Buffer.concat(aus.map((au) => adtsFrame(au, sampleRate, channels)));
  const args = ['-f', 'aac', '-i', 'pipe:0', '-f', 's16le', '-ac', '1', '-ar', String(sampleRate), 'pipe:1'];
  const raw = await runFfmpeg(ffmpeg, args, adts);
  const copy = Buffer.from(raw.subarray(0, raw.length - (raw.length % 2)));
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2);
}
