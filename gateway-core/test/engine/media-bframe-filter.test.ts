import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { NonReferenceFilter, toAnnexB } from '../../src/engine/media/index.js';
import { NAL_TYPE, nalType, parseH264Sps, SLICE_TYPE, sliceType, type H264AccessUnit } from '../../src/rtsp/index.js';
import { encodeClip } from '../helpers/ffmpeg-clips.js';

const run = promisify(execFile);

/** ffprobe's view of an Annex B stream: frames decoded, and the decoder's reorder delay (has_b_frames). */
async function probe(units: H264AccessUnit[]): Promise<{ frames: number; hasBFrames: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-filter-'));
  try {
    const file = join(dir, 'filtered.h264');
    await writeFile(file, Buffer.concat(units.map((au) => toAnnexB(au.nalus))));
    const { stdout } = await run('ffprobe', [
      ...['-v', 'error', '-count_frames', '-select_streams', 'v:0'],
      ...['-show_entries', 'stream=nb_read_frames,has_b_frames', '-of', 'json', file],
    ]);
    const s = (JSON.parse(stdout) as { streams: { nb_read_frames: string; has_b_frames: number }[] }).streams[0]!;
    return { frames: Number(s.nb_read_frames), hasBFrames: s.has_b_frames };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const isB = (au: H264AccessUnit): boolean => au.nalus.some((n) => sliceType(n) === SLICE_TYPE.B);

describe('NonReferenceFilter', () => {
  it(
    'drops the non-reference B-frames of x264 bframes=2: the rest decodes in order, without reordering',
    { timeout: 60_000 },
    async () => {
      const clip = await encodeClip({ codec: 'h264', profile: 'high', bframes: 2, frames: 60, gop: 30 });
      const f = new NonReferenceFilter();
      const out = clip.map((au) => f.filter(au)).filter((au): au is H264AccessUnit => au !== undefined);
      assert.equal(out.length, clip.filter((au) => !isB(au)).length, 'every I and P frame passes');
      assert.equal(out.length, 22, 'a third of the frames, rounded up per GOP: I P B B … P');
      assert.ok(!out.some(isB));
      assert.equal(f.referenceBFrames, false);
      assert.deepEqual({ ...f.stats }, { passed: 22, dropped: 38 });
      // Presentation order = decoding order now: RTP timestamps increase.
      for (let i = 1; i < out.length; i++) assert.ok(out[i]!.timestamp > out[i - 1]!.timestamp);
      // The SPS now says no reordering, so a decoder outputs each frame at once.
      const sps = parseH264Sps(out[0]!.nalus.find((n) => nalType(n) === NAL_TYPE.SPS)!);
      assert.equal(sps?.maxNumReorderFrames, 0);
      assert.deepEqual(await probe(out), { frames: 22, hasBFrames: 0 });
    },
  );

  it('falls back to I and P frames only when B-frames are references (B-pyramid)', { timeout: 60_000 }, async () => {
    const clip = await encodeClip({ codec: 'h264', bframes: 3, bPyramid: true, frames: 60, gop: 30 });
    const f = new NonReferenceFilter();
    const out = clip.map((au) => f.filter(au)).filter((au): au is H264AccessUnit => au !== undefined);
    assert.equal(f.referenceBFrames, true);
    assert.ok(!out.some(isB), 'no B-frame passes');
    for (let i = 1; i < out.length; i++) assert.ok(out[i]!.timestamp > out[i - 1]!.timestamp);
    const probed = await probe(out);
    assert.equal(probed.hasBFrames, 0);
    assert.equal(probed.frames, out.length, 'every frame left decodes');
  });

  it('passes a stream without B-frames untouched (same objects)', { timeout: 60_000 }, async () => {
    const clip = await encodeClip({ codec: 'h264', profile: 'main', frames: 20 });
    const f = new NonReferenceFilter();
    const out = clip.map((au) => f.filter(au));
    out.forEach((au, i) => {
      if (!clip[i]!.nalus.some((n) => nalType(n) === NAL_TYPE.SPS)) assert.equal(au, clip[i]);
      else assert.equal(au?.nalus.length, clip[i]!.nalus.length);
    });
  });
});
