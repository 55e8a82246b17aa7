/**
 * Short clips from real encoders for tests: the `ffmpeg` binary (Debian) encodes a
 * test pattern with libx264 or libx265 into MPEG-TS; `ffprobe -show_packets -show_data`
 * gives each access unit in decoding order with its presentation time (90 kHz, the RTP
 * clock of RFC 6184 §5.1). Units come back as NAL units without start codes, as
 * RtspClient delivers them.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AnnexBSplitter } from '../../src/engine/media/index.js';
import type { H264AccessUnit } from '../../src/rtsp/index.js';

const run = promisify(execFile);

export interface ClipOptions {
  codec: 'h264' | 'h265';
  frames: number;
  fps?: number;
  width?: number;
  height?: number;
  /** x264 only. */
  profile?: 'baseline' | 'main' | 'high';
  bframes?: number;
  /** x264 only: B-frames used as references (B-pyramid). */
  bPyramid?: boolean;
  /** Frames between keyframes. */
  gop?: number;
}

/** The clip's access units in decoding order, timestamps = presentation times. */
export async function encodeClip(o: ClipOptions): Promise<H264AccessUnit[]> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-clip-'));
  try {
    const file = join(dir, 'clip.ts');
    const fps = o.fps ?? 25;
    const size = `${o.width ?? 320}x${o.height ?? 240}`;
    const video =
      o.codec === 'h264'
        ? [
            '-c:v',
            'libx264',
            '-profile:v',
            o.profile ?? 'high',
            '-bf',
            String(o.bframes ?? 0),
            '-x264-params',
            `b-pyramid=${o.bPyramid ? 'normal' : 'none'}:b-adapt=0:scenecut=0`,
          ]
        : ['-c:v', 'libx265', '-x265-params', 'log-level=error'];
    await run('ffmpeg', [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', `testsrc=size=${size}:rate=${fps}`],
      ...['-frames:v', String(o.frames), '-pix_fmt', 'yuv420p', '-g', String(o.gop ?? fps)],
      ...video,
      ...['-f', 'mpegts', file],
    ]);
    const { stdout } = await run(
      'ffprobe',
      [
        ...['-v', 'error', '-select_streams', 'v:0', '-show_packets', '-show_data'],
        ...['-show_entries', 'packet=pts,flags,data', '-of', 'json', file],
      ],
      { maxBuffer: 256 * 1024 * 1024 },
    );
    const packets = (JSON.parse(stdout) as { packets: { pts: number; flags: string; data: string }[] }).packets;
    return packets.map((p) => {
      const splitter = new AnnexBSplitter(16 * 1024 * 1024);
      const nalus = [...splitter.push(hexDump(p.data)), ...splitter.flush()];
      return { nalus, timestamp: p.pts >>> 0, keyframe: p.flags.startsWith('K') };
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Bytes of ffprobe's `-show_data` dump ("00000000: 0000 0001 09f0 ...  ascii"). */
function hexDump(dump: string): Buffer {
  const hex: string[] = [];
  for (const line of dump.split('\n')) {
    const m = /^[0-9a-f]{8}: ((?:[0-9a-f]{2,4} ?)+)/.exec(line);
    if (m) hex.push(m[1]!.replace(/ /g, ''));
  }
  return Buffer.from(hex.join(''), 'hex');
}
