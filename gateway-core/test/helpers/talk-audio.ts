/**
 * Audio helpers for the talk-back tests (audio.ts has the camera-side ones): Opus packets of a known tone made by
 * the real FFmpeg (libopus), G.711 decoding (ITU-T G.711 §A / §B tables'
 * formulas), and the strongest frequency of a PCM signal by a plain DFT scan.
 */
import { execFile } from 'node:child_process';

/** 20 ms Opus packets (RFC 7587 payloads) of a `hz` sine, `seconds` long, encoded by FFmpeg's libopus. */
export async function opusTonePackets(hz: number, seconds: number): Promise<Buffer[]> {
  const ogg = await new Promise<Buffer>((resolve, reject) => {
    execFile(
      'ffmpeg',
      [
        ...['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', `sine=frequency=${hz}:duration=${seconds}`],
        ...[
          '-ac',
          '1',
          '-ar',
          '48000',
          '-c:a',
          'libopus',
          '-b:a',
          '32k',
          '-frame_duration',
          '20',
          '-f',
          'ogg',
          'pipe:1',
        ],
      ],
      { encoding: 'buffer', maxBuffer: 16 * 1024 * 1024, timeout: 60_000 },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
  return oggPackets(ogg).slice(2); // OpusHead and OpusTags first (RFC 7845 §3)
}

/** The packets of an Ogg stream (RFC 3533: lacing values of 255 continue a packet). */
export function oggPackets(ogg: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let partial: Buffer[] = [];
  let off = 0;
  while (off + 27 <= ogg.length && ogg.toString('ascii', off, off + 4) === 'OggS') {
    const n = ogg[off + 26]!;
    const lacing = ogg.subarray(off + 27, off + 27 + n);
    let body = off + 27 + n;
    for (const len of lacing) {
      partial.push(ogg.subarray(body, body + len));
      body += len;
      if (len < 255) {
        out.push(Buffer.concat(partial));
        partial = [];
      }
    }
    off = body;
  }
  return out;
}

/** ITU-T G.711 A-law byte → 16-bit linear. */
export function alawToLinear(a: number): number {
  const v = a ^ 0x55;
  const seg = (v & 0x70) >> 4;
  let t = (v & 0x0f) << 4;
  t += seg === 0 ? 8 : 0x108;
  if (seg > 1) t <<= seg - 1;
  return v & 0x80 ? t : -t;
}

/** ITU-T G.711 µ-law byte → 16-bit linear. */
export function ulawToLinear(u: number): number {
  const v = ~u & 0xff;
  let t = ((v & 0x0f) << 3) + 0x84;
  t <<= (v & 0x70) >> 4;
  return v & 0x80 ? 0x84 - t : t - 0x84;
}

/** The strongest frequency (Hz, 10 Hz steps from 100 Hz to `sampleRate / 2`) in `pcm`, by DFT magnitude. */
export function strongestFrequency(pcm: ArrayLike<number>, sampleRate: number): number {
  const n = Math.min(pcm.length, sampleRate); // at most 1 s is plenty
  let best = 0;
  let bestPower = -1;
  for (let f = 100; f < sampleRate / 2; f += 10) {
    let re = 0;
    let im = 0;
    const w = (2 * Math.PI * f) / sampleRate;
    for (let i = 0; i < n; i++) {
      re += pcm[i]! * Math.cos(w * i);
      im -= pcm[i]! * Math.sin(w * i);
    }
    const power = re * re + im * im;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}
