/**
 * Helpers for the simulated camera's sound tests: FFmpeg runs that are
 * killed after a bound (a failing test fails, never hangs), PCM from an RTSP
 * pull, and RTCP sender reports parsed from raw bytes (RFC 3550 §6.4.1).
 */
import { spawn } from 'node:child_process';

export interface ToolResult {
  stdout: Buffer;
  stderr: string;
  code: number | null;
}

/** Runs `tool` with an argument array; kills it after `ms` and rejects naming what it waited for. */
export function runBounded(tool: string, args: string[], ms: number, input?: Buffer): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${tool} did not finish within ${ms} ms: ${stderr.slice(-500)}`));
    }, ms);
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(e.code === 'ENOENT' ? `${tool} is not installed: these tests need it; they never skip` : e.message),
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ stdout: Buffer.concat(out), stderr, code });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

/** 16-bit little-endian bytes as samples (a copy, so alignment never matters). */
export function s16(bytes: Buffer): Int16Array {
  const copy = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
  return new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2);
}

/** Pulls `seconds` of the camera's audio with FFmpeg over RTSP and decodes it to mono PCM at `rate`. */
export async function pullAudio(url: string, seconds: number, rate: number, transport = 'tcp'): Promise<Int16Array> {
  const args = ['-v', 'error', '-rtsp_transport', transport, '-timeout', '20000000', '-i', url, '-t', String(seconds)];
  args.push('-map', '0:a', '-f', 's16le', '-ac', '1', '-ar', String(rate), 'pipe:1');
  const r = await runBounded('ffmpeg', args, 60_000);
  if (r.code !== 0) throw new Error(`ffmpeg could not pull the audio: ${r.stderr}`);
  return s16(r.stdout);
}

export interface SenderReport {
  ssrc: number;
  /** NTP timestamp as Unix epoch milliseconds (fractional). */
  ntpMs: number;
  rtpTimestamp: number;
}

const NTP_UNIX_OFFSET_S = 2_208_988_800; // RFC 5905 §6

/** The SR of a compound RTCP packet, or undefined when it starts with anything else. */
export function parseSenderReport(rtcp: Buffer): SenderReport | undefined {
  if (rtcp.length < 28 || rtcp[1] !== 200 || rtcp[0]! >> 6 !== 2) return undefined;
  const secs = rtcp.readUInt32BE(8) - NTP_UNIX_OFFSET_S;
  const frac = rtcp.readUInt32BE(12) / 2 ** 32;
  return { ssrc: rtcp.readUInt32BE(4), ntpMs: (secs + frac) * 1000, rtpTimestamp: rtcp.readUInt32BE(16) };
}

/** Wall-clock time (epoch ms) of RTP timestamp `ts` by the mapping of `sr`, at `clockRate`. */
export function wallClockOf(sr: SenderReport, ts: number, clockRate: number): number {
  return sr.ntpMs + (((ts - sr.rtpTimestamp) | 0) * 1000) / clockRate; // signed 32-bit distance (RFC 3550 wrap)
}
