/**
 * Audio checks for tests: G.711 A-law both ways (ITU-T G.711 §A), a sine
 * tone, the dominant frequency of PCM (Goertzel, one bin per candidate), and
 * AAC access units decoded by FFmpeg (fed as ADTS through a pipe, argument array).
 */
import { spawn } from 'node:child_process';
import { adtsFrame, parseAudioSpecificConfig } from '../../src/rtsp/aac.js';

/** ITU-T G.711 A-law byte → 16-bit linear sample. */
export function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const exponent = (v >> 4) & 7;
  const mantissa = v & 0x0f;
  let t = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  if ((v & 0x80) === 0) t = -t;
  return t;
}

/** 16-bit linear sample → ITU-T G.711 A-law byte. */
export function linearToAlaw(sample: number): number {
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s >= 0 ? 0x80 : 0;
  if (s < 0) s = -s - 1;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = exponent === 0 ? (s >> 4) & 0x0f : (s >> (exponent + 3)) & 0x0f;
  return (sign | (exponent << 4) | mantissa) ^ 0x55;
}

/** `seconds` of a sine at `hz`, amplitude `amp` (of full scale), as 16-bit samples. */
export function sine(hz: number, sampleRate: number, seconds: number, amp = 0.3, phase = 0): Int16Array {
  const out = new Int16Array(Math.round(sampleRate * seconds));
  for (let i = 0; i < out.length; i++)
    out[i] = Math.round(amp * 32767 * Math.sin(phase + (2 * Math.PI * hz * i) / sampleRate));
  return out;
}

/** Power of `pcm` at `hz` (Goertzel). */
function power(pcm: Int16Array, sampleRate: number, hz: number): number {
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / sampleRate);
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < pcm.length; i++) {
    const s0 = pcm[i]! + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coeff * s1 * s2;
}

/** The frequency, in `stepHz` steps from 50 Hz to Nyquist, where `pcm` has the most power. */
export function dominantFrequency(pcm: Int16Array, sampleRate: number, stepHz = 10): number {
  let best = 0;
  let bestPower = -1;
  for (let hz = 50; hz < sampleRate / 2; hz += stepHz) {
    const p = power(pcm, sampleRate, hz);
    if (p > bestPower) {
      bestPower = p;
      best = hz;
    }
  }
  return best;
}

/** RMS of the samples, as a fraction of full scale. */
export function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return pcm.length === 0 ? 0 : Math.sqrt(sum / pcm.length) / 32768;
}

/** AAC access units (raw, as the RTSP client emits them) decoded by FFmpeg to mono 16-bit PCM at `sampleRate`. */
export async function decodeAac(config: Buffer, aus: Buffer[], sampleRate: number): Promise<Int16Array> {
  const asc = parseAudioSpecificConfig(config);
  if (!asc) throw new Error('unreadable AudioSpecificConfig');
  const adts = Buffer.concat(aus.map((au) => adtsFrame(asc, au) ?? Buffer.alloc(0)));
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'aac', '-i', 'pipe:0'];
  args.push('-f', 's16le', '-ac', '1', '-ar', String(sampleRate), 'pipe:1');
  const child = spawn('ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  let err = '';
  child.stdout.on('data', (d: Buffer) => out.push(d));
  child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)));
  child.stdin.on('error', () => {}); // FFmpeg may exit first; its exit code tells
  child.stdin.end(adts);
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  if (code !== 0) throw new Error(`ffmpeg exited ${code}: ${err}`);
  return pcmFromBytes(Buffer.concat(out));
}

/** 16-bit little-endian PCM bytes as samples (copied: a Buffer's offset need not be even). */
export function pcmFromBytes(bytes: Buffer): Int16Array {
  const pcm = new Int16Array(bytes.length >> 1);
  for (let i = 0; i < pcm.length; i++) pcm[i] = bytes.readInt16LE(2 * i);
  return pcm;
}
