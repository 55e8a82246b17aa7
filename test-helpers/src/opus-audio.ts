/**
 * Opus audio for tests, made and checked by the real FFmpeg (libopus):
 * `encodeOpusTone` gives the Opus packets of a sine tone, `decodeOpus` turns
 * received Opus packets back into PCM, through an Ogg Opus file (RFC 7845)
 * written here, and `toneFrequency` finds the tone in the PCM.
 * The engine has an Ogg Opus writer of its own (engine/media/ogg-opus-writer.ts, for the talk-back pipe to
 * FFmpeg), but @camgate/core's faces do not export it and exporting an engine internal only for tests would
 * widen the public API; it is also fixed to libopus' pre-skip (312), where this file's 0 keeps every decoded
 * sample. So the few lines of Ogg paging stand twice, on purpose.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Frame duration in 48 kHz samples for each TOC config (RFC 6716 §3.1, Table 2). */
const FRAME_SAMPLES = [
  480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 480, 960, 120, 240, 480, 960, 120, 240,
  480, 960, 120, 240, 480, 960, 120, 240, 480, 960,
];

/** An Opus packet's duration in 48 kHz samples (RFC 6716 §3.1, §3.2). */
export function opusSamples48k(packet: Buffer): number {
  const code = packet[0]! & 3;
  const frames = code === 0 ? 1 : code === 3 ? packet[1]! & 0x3f : 2;
  return FRAME_SAMPLES[packet[0]! >> 3]! * frames;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32 (RFC 3533 §6: polynomial 0x04c11db7, no reflection, initial 0). */
function oggCrc(buf: Buffer): number {
  let crc = 0;
  for (const b of buf) crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ b) & 0xff]!) >>> 0;
  return crc;
}

function oggPage(packet: Buffer, flags: number, granule: bigint, seq: number): Buffer {
  const lacing: number[] = [];
  let left = packet.length;
  while (left >= 255) {
    lacing.push(255);
    left -= 255;
  }
  lacing.push(left);
  const head = Buffer.alloc(27 + lacing.length);
  head.write('OggS', 0, 'latin1');
  head[5] = flags;
  head.writeBigInt64LE(granule, 6);
  head.writeUInt32LE(0x63616d67, 14); // stream serial: "camg"
  head.writeUInt32LE(seq, 18);
  head[26] = lacing.length;
  Buffer.from(lacing).copy(head, 27);
  const page = Buffer.concat([head, packet]);
  page.writeUInt32LE(oggCrc(page), 22);
  return page;
}

/** An Ogg Opus file (RFC 7845) of the packets, one page each. */
export function oggOpus(packets: readonly Buffer[], channels = 1): Buffer {
  const head = Buffer.alloc(19);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1; // version
  head[9] = channels;
  head.writeUInt16LE(0, 10); // pre-skip: none, every sample counts
  head.writeUInt32LE(48_000, 12);
  const vendor = Buffer.from('camgate-test');
  const tags = Buffer.alloc(8 + 4 + vendor.length + 4);
  tags.write('OpusTags', 0, 'latin1');
  tags.writeUInt32LE(vendor.length, 8);
  vendor.copy(tags, 12);
  const pages = [oggPage(head, 2, 0n, 0), oggPage(tags, 0, 0n, 1)];
  let granule = 0n;
  packets.forEach((p, i) => {
    granule += BigInt(opusSamples48k(p));
    pages.push(oggPage(p, i === packets.length - 1 ? 4 : 0, granule, i + 2));
  });
  return Buffer.concat(pages);
}

/** The packets of an Ogg Opus stream, OpusHead and OpusTags left out. */
export function oggPackets(ogg: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let partial: Buffer[] = [];
  let at = 0;
  while (at + 27 <= ogg.length && ogg.toString('latin1', at, at + 4) === 'OggS') {
    const n = ogg[at + 26]!;
    let data = at + 27 + n;
    for (let i = 0; i < n; i++) {
      const len = ogg[at + 27 + i]!;
      partial.push(ogg.subarray(data, data + len));
      data += len;
      if (len < 255) {
        out.push(Buffer.concat(partial));
        partial = [];
      }
    }
    at = data;
  }
  return out.slice(2);
}

async function ffmpeg(args: string[], input?: Buffer): Promise<Buffer> {
  const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...args], {
    stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (b: Buffer) => out.push(b));
  child.stderr!.on('data', (b: Buffer) => err.push(b));
  if (input) child.stdin!.end(input);
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000); // a failing FFmpeg fails the test, never hangs it
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if (code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${code}): ${Buffer.concat(err).toString()}`);
  return Buffer.concat(out);
}

/** Opus packets (libopus, 48 kHz, mono) of a sine tone, with their RTP timestamps on the 48 kHz clock. */
export async function encodeOpusTone(o: {
  hz: number;
  seconds: number;
  frameMs?: number;
}): Promise<{ payload: Buffer; timestamp: number }[]> {
  const ogg = await ffmpeg([
    ...['-f', 'lavfi', '-i', `sine=frequency=${o.hz}:sample_rate=48000:duration=${o.seconds}`],
    ...['-c:a', 'libopus', '-b:a', '32k', '-ac', '1', '-frame_duration', String(o.frameMs ?? 20)],
    ...['-f', 'ogg', 'pipe:1'],
  ]);
  let ts = 0;
  return oggPackets(ogg).map((payload) => {
    const p = { payload, timestamp: ts };
    ts += opusSamples48k(payload);
    return p;
  });
}

/** Decodes Opus packets with FFmpeg to mono 16-bit PCM at `sampleRate`. */
export async function decodeOpus(packets: readonly Buffer[], sampleRate: number): Promise<Int16Array> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-opus-'));
  try {
    const file = join(dir, 'in.opus');
    await writeFile(file, oggOpus(packets));
    const pcm = await ffmpeg(['-i', file, '-f', 's16le', '-ac', '1', '-ar', String(sampleRate), 'pipe:1']);
    return new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length >> 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The strongest frequency in `pcm` between 50 Hz and Nyquist, to 5 Hz (Goertzel over the middle second). */
export function toneFrequency(pcm: Int16Array, sampleRate: number): number {
  const n = Math.min(pcm.length, sampleRate);
  const start = Math.max(0, Math.floor((pcm.length - n) / 2));
  let best = 0;
  let bestPower = -1;
  for (let f = 50; f < sampleRate / 2; f += 5) {
    const k = (2 * Math.cos((2 * Math.PI * f) / sampleRate)) as number;
    let s1 = 0;
    let s2 = 0;
    for (let i = start; i < start + n; i++) {
      const s0 = pcm[i]! + k * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const power = s1 * s1 + s2 * s2 - k * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}
