/**
 * The test-pattern encoder, checked by an independent decoder: FFmpeg decodes
 * our bitstream and must reproduce, sample for sample, the picture we drew.
 * FFmpeg is required (CI installs it); a missing FFmpeg fails these tests.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { H264TestPatternEncoder, readFrameCounter } from '../src/index.js';
import { makeLayout } from '../src/test-pattern.js';
import { annexB, decodeLuma, region, runTool } from './helpers/rtsp-sim.js';

const FIXED_CLOCK = (): number => Date.UTC(2026, 0, 2, 3, 4, 5, 670);

/** Encodes `n` frames; parameter sets before each IDR, as an Annex B stream. */
function encodeStream(
  enc: H264TestPatternEncoder,
  n: number,
): { stream: Buffer; sizes: number[]; keyframes: number[] } {
  const nalus: Buffer[] = [];
  const sizes: number[] = [];
  const keyframes: number[] = [];
  for (let i = 0; i < n; i++) {
    const p = enc.encode();
    if (p.keyframe) {
      nalus.push(enc.sps, enc.pps);
      keyframes.push(p.frameNumber);
    }
    nalus.push(...p.nalus);
    sizes.push(p.nalus.reduce((a, b) => a + b.length, 0));
  }
  return { stream: annexB(nalus), sizes, keyframes };
}

/** Byte-compares the luma FFmpeg decoded with the encoder's current picture. */
function assertMatchesPicture(frame: Buffer, enc: H264TestPatternEncoder): void {
  for (let y = 0; y < enc.height; y++) {
    for (let x = 0; x < enc.width; x++) {
      const got = frame[y * enc.width + x]!;
      const want = enc.lumaAt(x, y);
      if (got !== want) assert.fail(`luma at (${x},${y}) decoded ${got}, drawn ${want}`);
    }
  }
}

describe('H264TestPatternEncoder', () => {
  describe('parameter sets', () => {
    it('signals Constrained Baseline 3.1 (42e01f) for 720p25 (A.3.1, Table A-1)', () => {
      const enc = new H264TestPatternEncoder({ width: 1280, height: 720, fps: 25 });
      assert.equal(enc.profileLevelId, '42e01f');
      assert.equal(enc.sps.subarray(0, 4).toString('hex'), '6742e01f'); // NAL header 0x67: nal_ref_idc 3, type 7
      assert.equal(enc.pps[0], 0x68);
      const [sps, pps] = enc.spropParameterSets.split(',');
      assert.deepEqual(Buffer.from(sps!, 'base64'), enc.sps);
      assert.deepEqual(Buffer.from(pps!, 'base64'), enc.pps);
    });

    it('signals at least level 3.1 for small pictures and a higher one for 1080p30 and 4K', () => {
      assert.equal(new H264TestPatternEncoder({ width: 320, height: 240, fps: 25 }).profileLevelId, '42e01f');
      assert.equal(new H264TestPatternEncoder({ width: 3840, height: 2160, fps: 30 }).profileLevelId, '42e033'); // 5.1
      assert.equal(new H264TestPatternEncoder({ width: 1920, height: 1080, fps: 30 }).profileLevelId, '42e028'); // 4.0
    });

    it('FFprobe reads profile, level, size (with cropping for 360 lines) and frame rate from the SPS', async () => {
      const enc = new H264TestPatternEncoder({ width: 640, height: 360, fps: 25, clock: FIXED_CLOCK });
      const { stream } = encodeStream(enc, 3);
      const r = await runTool(
        'ffprobe',
        ['-v', 'error', '-f', 'h264', '-i', 'pipe:0', '-show_streams', '-of', 'json'],
        stream,
      );
      assert.equal(r.code, 0, r.stderr);
      const s = (JSON.parse(r.stdout.toString()) as { streams: Record<string, unknown>[] }).streams[0]!;
      assert.equal(s.profile, 'Constrained Baseline');
      assert.equal(s.level, 31);
      assert.equal(s.width, 640);
      assert.equal(s.height, 360); // 23 macroblock rows = 368 coded lines, 8 cropped (§7.4.2.1.1)
      assert.equal(s.r_frame_rate, '25/1');
    });
  });

  describe('#encode', () => {
    it('starts with an IDR, repeats it every gopFrames, and keeps P pictures small', () => {
      const enc = new H264TestPatternEncoder({ width: 1280, height: 720, fps: 25, gopFrames: 10, clock: FIXED_CLOCK });
      const { sizes, keyframes } = encodeStream(enc, 25);
      assert.deepEqual(keyframes, [0, 10, 20]);
      // An I_PCM IDR: 3600 macroblocks x (384 samples + 2 header bytes) plus slice header and trailing bits.
      assert.ok(sizes[0]! > 3600 * 386 && sizes[0]! < 3600 * 386 + 64, `IDR is ${sizes[0]} bytes`);
      for (let i = 1; i < 10; i++) assert.ok(sizes[i]! < sizes[0]! / 20, `P frame ${i} is ${sizes[i]} bytes`);
      assert.equal(enc.frameNumber, 24);
    });

    it('never emits a start code or a forbidden 00 00 0x sequence inside a NAL unit (§7.4.1)', () => {
      const enc = new H264TestPatternEncoder({ width: 320, height: 240, fps: 25, gopFrames: 5 });
      for (let i = 0; i < 12; i++) {
        for (const nal of [enc.sps, enc.pps, ...enc.encode().nalus]) {
          assert.equal(nal[0]! & 0x80, 0, 'forbidden_zero_bit');
          for (let j = 0; j + 2 < nal.length; j++) {
            if (nal[j] === 0 && nal[j + 1] === 0) assert.ok(nal[j + 2]! === 3, `00 00 ${nal[j + 2]} at ${j}`);
          }
          assert.notEqual(nal.at(-1), 0);
        }
      }
    });

    it('yields an IDR when frame numbers jump across a GOP boundary, and on forceKeyframe()', () => {
      const enc = new H264TestPatternEncoder({ width: 320, height: 240, gopFrames: 10 });
      assert.equal(enc.encode(0).keyframe, true);
      assert.equal(enc.encode(3).keyframe, false);
      assert.equal(enc.encode(12).keyframe, true); // frame 10 was skipped; 12 starts the new GOP
      assert.equal(enc.encode(13).keyframe, false);
      enc.forceKeyframe();
      assert.equal(enc.encode(14).keyframe, true);
      assert.throws(() => enc.encode(14), /frameNumber must be an integer greater than 14/);
    });

    it('FFmpeg decodes every frame bit-exactly, and consecutive frames differ in the counter and the block', async () => {
      const width = 640;
      const height = 360;
      const enc = new H264TestPatternEncoder({ width, height, fps: 25, gopFrames: 8, clock: FIXED_CLOCK });
      const { stream } = encodeStream(enc, 20);
      const frames = await decodeLuma(stream, width, height);
      assert.equal(frames.length, 20);
      // Lossless: the last decoded frame (a P picture after skips and I_PCM updates) is what we drew.
      assertMatchesPicture(frames[19]!, enc);
      const l = makeLayout(width, height);
      // The counter's last digit cell and the block's band.
      const lastDigitX = l.counter.x + 7 * l.pitch;
      for (let i = 0; i < frames.length; i++) assert.equal(readFrameCounter(frames[i]!, width, height), i);
      for (let i = 1; i < frames.length; i++) {
        assert.notDeepEqual(frames[i], frames[i - 1], `frame ${i} equals frame ${i - 1}`);
        const a = region(frames[i - 1]!, width, lastDigitX, l.counter.y, l.digitW, l.digitH);
        const b = region(frames[i]!, width, lastDigitX, l.counter.y, l.digitW, l.digitH);
        assert.notDeepEqual(a, b, `counter digit unchanged between frames ${i - 1} and ${i}`);
        const ba = region(frames[i - 1]!, width, 0, l.blockY, width, l.blockSize);
        const bb = region(frames[i]!, width, 0, l.blockY, width, l.blockSize);
        assert.notDeepEqual(ba, bb, `block did not move between frames ${i - 1} and ${i}`);
      }
      // The clock is pinned, so the clock line is identical in all frames: only the counter and block move.
      const c0 = region(frames[0]!, width, l.clock.x, l.clock.y, 8 * l.pitch, l.digitH);
      const c1 = region(frames[19]!, width, l.clock.x, l.clock.y, 8 * l.pitch, l.digitH);
      assert.deepEqual(c0, c1);
    });

    it('FFmpeg decodes 720p with 45 macroblock rows (no cropping) bit-exactly', async () => {
      const enc = new H264TestPatternEncoder({ width: 1280, height: 720, gopFrames: 100 });
      const { stream } = encodeStream(enc, 6);
      const frames = await decodeLuma(stream, 1280, 720);
      assert.equal(frames.length, 6);
      assertMatchesPicture(frames[5]!, enc);
      assert.equal(readFrameCounter(frames[5]!, 1280, 720), 5);
    });

    it('readFrameCounter reads large counters at several sizes and refuses a picture without digits', async () => {
      for (const [w, h] of [
        [320, 240],
        [1920, 1080],
        [96, 64],
      ] as const) {
        const enc = new H264TestPatternEncoder({ width: w, height: h });
        const nalus = [enc.sps, enc.pps, ...enc.encode(98_765_432).nalus];
        const [frame] = await decodeLuma(annexB(nalus), w, h);
        assert.equal(readFrameCounter(frame!, w, h), 98_765_432, `${w}x${h}`);
      }
      assert.equal(readFrameCounter(Buffer.alloc(320 * 240, 16), 320, 240), undefined);
      assert.throws(() => readFrameCounter(Buffer.alloc(10), 320, 240), RangeError);
    });

    it('shows the wall clock: a later clock changes the clock line', async () => {
      let now = Date.UTC(2026, 0, 1, 10, 0, 0, 0);
      const enc = new H264TestPatternEncoder({ width: 320, height: 240, clock: () => now });
      const l = makeLayout(320, 240);
      const nalus = [enc.sps, enc.pps, ...enc.encode().nalus];
      now += 1230;
      nalus.push(...enc.encode().nalus);
      const frames = await decodeLuma(annexB(nalus), 320, 240);
      const a = region(frames[0]!, 320, l.clock.x, l.clock.y, Math.min(320 - l.clock.x, 11 * l.pitch), l.digitH);
      const b = region(frames[1]!, 320, l.clock.x, l.clock.y, Math.min(320 - l.clock.x, 11 * l.pitch), l.digitH);
      assert.notDeepEqual(a, b);
    });
  });

  describe('options', () => {
    it('refuses odd, tiny, huge and non-numeric sizes, naming the option', () => {
      assert.throws(
        () => new H264TestPatternEncoder({ width: 641 }),
        /width must be an even integer 32\.\.4096, got 641/,
      );
      assert.throws(() => new H264TestPatternEncoder({ height: 16 }), RangeError);
      assert.throws(() => new H264TestPatternEncoder({ width: 8192 }), RangeError);
      assert.throws(() => new H264TestPatternEncoder({ fps: 0 }), /fps must be an integer 1\.\.60/);
      assert.throws(() => new H264TestPatternEncoder({ fps: '25' as unknown as number }), TypeError);
      assert.throws(() => new H264TestPatternEncoder({ gopFrames: 0 }), /gopFrames/);
      assert.throws(() => new H264TestPatternEncoder({ clock: 5 as unknown as () => number }), TypeError);
    });
  });
});
