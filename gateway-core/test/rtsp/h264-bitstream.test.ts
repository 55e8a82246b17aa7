import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  h264ProfileName,
  NAL_TYPE,
  nalRefIdc,
  nalType,
  parseH264Sps,
  SLICE_TYPE,
  sliceType,
  spsWithoutReordering,
  type H264AccessUnit,
} from '../../src/rtsp/index.js';
import { BitWriter } from '../../src/rtsp/bit-writer.js';
import { makeNalUnit } from '../../src/rtsp/nal-unit.js';
import { encodeClip } from '../helpers/ffmpeg-clips.js';

const spsOf = (clip: H264AccessUnit[]): Buffer => clip[0]!.nalus.find((n) => nalType(n) === NAL_TYPE.SPS)!;
const slicesOf = (clip: H264AccessUnit[]): Buffer[] =>
  clip.flatMap((au) => au.nalus.filter((n) => nalType(n) === NAL_TYPE.NON_IDR || nalType(n) === NAL_TYPE.IDR));

/** A High-profile SPS with no VUI at all (H.264 §7.3.2.1.1), 320x240. */
function spsWithoutVui(): Buffer {
  const w = new BitWriter();
  w.writeBits(100, 8); // profile_idc High
  w.writeBits(0, 8);
  w.writeBits(30, 8); // level 3.0
  w.writeUE(0); // seq_parameter_set_id
  w.writeUE(1); // chroma_format_idc 4:2:0
  w.writeUE(0);
  w.writeUE(0);
  w.writeBit(0);
  w.writeBit(0); // no scaling matrices
  w.writeUE(0); // log2_max_frame_num_minus4
  w.writeUE(0); // pic_order_cnt_type 0
  w.writeUE(2);
  w.writeUE(3); // max_num_ref_frames
  w.writeBit(0);
  w.writeUE(19); // 20 MBs wide
  w.writeUE(14); // 15 MBs high
  w.writeBit(1); // frame_mbs_only_flag
  w.writeBit(1); // direct_8x8_inference_flag
  w.writeBit(0); // no cropping
  w.writeBit(0); // vui_parameters_present_flag
  w.writeTrailingBits();
  return makeNalUnit(3, NAL_TYPE.SPS, w.toBuffer());
}

describe('H.264 bitstream reading (ITU-T H.264)', () => {
  it(
    'reads profile, resolution, frame rate and reordering from x264 SPSs (§7.3.2.1.1, E.1.1)',
    { timeout: 60_000 },
    async () => {
      const high = parseH264Sps(spsOf(await encodeClip({ codec: 'h264', profile: 'high', bframes: 2, frames: 3 })));
      assert.ok(high);
      assert.equal(h264ProfileName(high), 'High');
      assert.equal(`${high.width}x${high.height}`, '320x240');
      assert.equal(high.fps, 25);
      assert.equal(high.maxNumReorderFrames, 1, 'x264: one frame of reordering for B-frames without pyramid');
      assert.equal(high.mayReorder, true);

      const base = parseH264Sps(spsOf(await encodeClip({ codec: 'h264', profile: 'baseline', frames: 3 })));
      assert.equal(h264ProfileName(base!), 'Constrained Baseline');
      assert.equal(base!.mayReorder, false, 'Baseline has no B-frames (§A.2.1)');

      // 1080 is not a multiple of 16: the SPS codes 1088 lines and crops 8 (§7.4.2.1.1).
      const hd = parseH264Sps(
        spsOf(await encodeClip({ codec: 'h264', profile: 'main', frames: 1, width: 1920, height: 1080 })),
      );
      assert.equal(`${hd!.width}x${hd!.height}`, '1920x1080');
      assert.equal(h264ProfileName(hd!), 'Main');
      assert.equal(hd!.maxNumReorderFrames, 0, 'no B-frames asked: x264 says no reordering');
      assert.equal(hd!.mayReorder, false);
    },
  );

  it('tells B slices and their nal_ref_idc from the slice header (§7.3.3, §7.4.1)', { timeout: 60_000 }, async () => {
    const withB = slicesOf(await encodeClip({ codec: 'h264', bframes: 2, frames: 30, gop: 30 }));
    const types = withB.map(sliceType);
    assert.equal(types[0], SLICE_TYPE.I);
    const bSlices = withB.filter((_, i) => types[i] === SLICE_TYPE.B);
    assert.equal(bSlices.length, 19, 'I P B B P B B …: 19 of 30 frames are B with bframes=2 and a fixed pattern');
    assert.ok(
      bSlices.every((s) => nalRefIdc(s) === 0),
      'without B-pyramid no B-frame is a reference',
    );
    assert.ok(types.every((t) => t === SLICE_TYPE.I || t === SLICE_TYPE.P || t === SLICE_TYPE.B));

    const noB = slicesOf(await encodeClip({ codec: 'h264', bframes: 0, frames: 10 }));
    assert.ok(!noB.some((s) => sliceType(s) === SLICE_TYPE.B));

    const pyramid = slicesOf(await encodeClip({ codec: 'h264', bframes: 3, bPyramid: true, frames: 30, gop: 30 }));
    assert.ok(
      pyramid.some((s) => sliceType(s) === SLICE_TYPE.B && nalRefIdc(s) > 0),
      'B-pyramid: some B-frames are references',
    );
  });

  it('rewrites an SPS to max_num_reorder_frames 0, keeping everything else', { timeout: 60_000 }, async () => {
    const original = spsOf(await encodeClip({ codec: 'h264', profile: 'high', bframes: 2, frames: 1 }));
    const rewritten = spsWithoutReordering(original)!;
    const before = parseH264Sps(original)!;
    const after = parseH264Sps(rewritten)!;
    assert.equal(after.maxNumReorderFrames, 0);
    assert.equal(after.mayReorder, false);
    assert.deepEqual({ ...after, maxNumReorderFrames: 1, mayReorder: true }, before);
    assert.equal(rewritten[0], original[0], 'same NAL header');

    // No VUI at all: one is added holding only the bitstream restriction.
    const bare = spsWithoutVui();
    const bareInfo = parseH264Sps(bare)!;
    assert.equal(bareInfo.maxNumReorderFrames, undefined);
    assert.equal(bareInfo.mayReorder, true);
    const fixed = parseH264Sps(spsWithoutReordering(bare)!)!;
    assert.equal(fixed.maxNumReorderFrames, 0);
    assert.equal(`${fixed.width}x${fixed.height}`, '320x240');
    assert.equal(fixed.maxNumRefFrames, 3);
  });

  it('gives undefined or -1 for garbage and truncated units, never throws', () => {
    assert.equal(parseH264Sps(Buffer.from([0x67])), undefined);
    assert.equal(parseH264Sps(Buffer.from([0x67, 100, 0, 30])), undefined, 'truncated');
    assert.equal(parseH264Sps(Buffer.from([0x68, 1, 2, 3, 4])), undefined, 'a PPS');
    assert.equal(parseH264Sps(Buffer.from([0x67, 100, 0, 30, 0, 0, 0, 0, 0, 0])), undefined, 'endless Exp-Golomb');
    assert.equal(spsWithoutReordering(Buffer.from([0x67, 1])), undefined);
    assert.equal(sliceType(Buffer.from([0x41])), -1, 'no header bytes');
    assert.equal(sliceType(Buffer.from([0x41, 0, 0, 0, 0])), -1, 'unreadable');
    assert.equal(sliceType(Buffer.from([0x67, 0x88])), -1, 'not a slice');
    assert.equal(sliceType(Buffer.from([0x41, 0b1010_0000])), SLICE_TYPE.B, 'first_mb 0, slice_type 1');
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 1 + (i % 40) }, (_, k) => (i * 31 + k * 17) & 0xff));
      junk[0] = 0x67;
      parseH264Sps(junk);
      spsWithoutReordering(junk);
      junk[0] = 0x41;
      sliceType(junk);
    }
  });
});
