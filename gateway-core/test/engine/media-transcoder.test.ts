import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { findFfmpeg, Transcoder, transcoderArgs } from '../../src/engine/media/index.js';
import { NAL_TYPE, nalType, parseH264Sps, SLICE_TYPE, sliceType, type H264AccessUnit } from '../../src/rtsp/index.js';
import { createLogger, type LogRecord } from '../../src/util/index.js';
import { encodeClip } from '../helpers/ffmpeg-clips.js';

function collectingLogger(): { records: LogRecord[]; logger: ReturnType<typeof createLogger> } {
  const records: LogRecord[] = [];
  return { records, logger: createLogger('test', (r) => records.push(r)) };
}

/** Feeds `input` and waits (bounded) until `expected` units came out. */
async function roundTrip(t: Transcoder, input: H264AccessUnit[], expected: number): Promise<H264AccessUnit[]> {
  const out: H264AccessUnit[] = [];
  t.on('accessUnit', (au) => out.push(au));
  for (const au of input) assert.equal(t.write(au), true, 'accepted');
  // The last frames are still in FFmpeg's pipeline (decoder reordering, and raw H.264 output: a frame
  // completes only when the next begins). A live camera keeps sending; so does this, with the first
  // keyframe again, later in time, until the clip's frames are out.
  let extra = input.at(-1)!.timestamp;
  for (let i = 0; out.length < expected; i++) {
    assert.ok(i < 300, `FFmpeg produced ${out.length} of ${expected} frames within 30 s`);
    if (i >= 10) t.write({ ...input[0]!, timestamp: (extra += 3600) >>> 0 });
    await sleep(100);
  }
  return out.slice(0, expected);
}

function assertBrowserH264(out: H264AccessUnit[], width: number, height: number): void {
  assert.equal(out[0]!.keyframe, true, 'starts with an IDR');
  for (const au of out) {
    for (const n of au.nalus) {
      const t = nalType(n);
      if (t === NAL_TYPE.NON_IDR || t === NAL_TYPE.IDR) assert.notEqual(sliceType(n), SLICE_TYPE.B, 'no B slice');
    }
  }
  const sps = parseH264Sps(out[0]!.nalus.find((n) => nalType(n) === NAL_TYPE.SPS)!);
  assert.ok(sps, 'SPS in-band at the first IDR');
  assert.equal(sps.profileIdc, 66, 'Baseline');
  assert.ok((sps.constraintFlags & 0x40) !== 0, 'constraint_set1: Constrained Baseline');
  assert.equal(sps.mayReorder, false);
  assert.equal(`${sps.width}x${sps.height}`, `${width}x${height}`);
  // Keyframe every ~2 s at 25 fps: every IDR carries its SPS and PPS.
  for (const au of out.filter((a) => a.keyframe)) {
    assert.ok(au.nalus.some((n) => nalType(n) === NAL_TYPE.SPS) && au.nalus.some((n) => nalType(n) === NAL_TYPE.PPS));
  }
}

describe('Transcoder (real FFmpeg)', () => {
  const ffmpeg = findFfmpeg();

  it('finds the Debian ffmpeg on PATH', () => {
    assert.equal(ffmpeg, '/usr/bin/ffmpeg');
  });

  it('keeps the camera out of the command line: stdin in, stdout out', () => {
    const args = transcoderArgs('H265', 25);
    assert.deepEqual(args.slice(args.indexOf('-i'), args.indexOf('-i') + 2), ['-i', 'pipe:0']);
    assert.equal(args.at(-1), 'pipe:1');
    assert.ok(args.includes('-bf') && args[args.indexOf('-bf') + 1] === '0');
    assert.equal(args[args.indexOf('-g') + 1], '50', 'a keyframe every 2 s at 25 fps');
    assert.ok(!args.some((a) => /rtsp|:\/\//.test(a)));
  });

  it(
    'turns H.264 High with B-frames into Constrained Baseline without B-frames, frame for frame',
    { timeout: 60_000 },
    async (t) => {
      const input = await encodeClip({ codec: 'h264', profile: 'high', bframes: 2, frames: 60, gop: 30 });
      assert.ok(
        input.some((au) => au.nalus.some((n) => sliceType(n) === SLICE_TYPE.B)),
        'the input has B-frames',
      );
      const { logger } = collectingLogger();
      const tr = new Transcoder({ ffmpegPath: ffmpeg!, inputCodec: 'H264', fps: 25, logger });
      t.after(() => tr.close());
      const out = await roundTrip(tr, input, 60);
      assertBrowserH264(out, 320, 240);
      // Output frames take the camera's presentation times, in order: B-frame input arrives out of order.
      const pts = input.map((au) => au.timestamp).sort((a, b) => a - b);
      assert.deepEqual(
        out.map((au) => au.timestamp),
        pts,
      );
      assert.ok(tr.stats.framesIn >= 60);
      assert.equal(tr.stats.restarts, 0);
    },
  );

  it('turns H.265 into H.264 Constrained Baseline, frame for frame', { timeout: 60_000 }, async (t) => {
    const input = await encodeClip({ codec: 'h265', frames: 50, gop: 25, width: 352, height: 288 });
    const { logger } = collectingLogger();
    const tr = new Transcoder({ ffmpegPath: ffmpeg!, inputCodec: 'H265', fps: 25, logger });
    t.after(() => tr.close());
    const out = await roundTrip(tr, input, 50);
    assertBrowserH264(out, 352, 288);
    const ordered = out.map((au) => au.timestamp);
    assert.deepEqual(
      ordered,
      [...ordered].sort((a, b) => a - b),
    );
    assert.equal(ordered.length, new Set(ordered).size, 'one output frame per input frame');
  });

  it('drops input up to the next keyframe instead of queueing without bound', { timeout: 60_000 }, async (t) => {
    const input = await encodeClip({ codec: 'h264', frames: 50, gop: 25, width: 1280, height: 720 });
    const { logger, records } = collectingLogger();
    // A 1 KiB backlog bound: FFmpeg cannot read as fast as we write a whole clip at once.
    const tr = new Transcoder({ ffmpegPath: ffmpeg!, inputCodec: 'H264', logger, maxPendingBytes: 1024 });
    t.after(() => tr.close());
    // The clip 30 times over (~2 MB), written at once: far more than a pipe holds (64 KiB on Linux).
    const burst = Array.from({ length: 30 }, (_, k) =>
      input.map((au) => ({ ...au, timestamp: (au.timestamp + k * 50 * 3600) >>> 0 })),
    ).flat();
    const accepted = burst.map((au) => tr.write(au));
    assert.equal(accepted[0], true);
    const firstDrop = accepted.indexOf(false);
    assert.ok(firstDrop > 0, 'some input was dropped');
    // After a drop, nothing is taken until a keyframe.
    const resumed = accepted.indexOf(true, firstDrop);
    if (resumed >= 0) assert.equal(burst[resumed]!.keyframe, true);
    assert.ok(tr.stats.droppedIn > 0);
    assert.ok(records.some((r) => r.level === 'warn' && /falls behind/.test(r.msg)));
  });

  it('restarts an FFmpeg that exits, with backoff, and stops on close', { timeout: 30_000 }, async (t) => {
    const { logger, records } = collectingLogger();
    // /bin/false: a real executable that exits at once, as a crashing FFmpeg would.
    const tr = new Transcoder({
      ffmpegPath: '/bin/false',
      inputCodec: 'H264',
      logger,
      restart: { initialMs: 50, maxMs: 200 },
    });
    t.after(() => tr.close());
    const [delay1] = (await once(tr, 'restarting')) as [number, string];
    const [delay2] = (await once(tr, 'restarting')) as [number, string];
    assert.equal(delay1, 50);
    assert.equal(delay2, 100, 'the delay doubles');
    assert.ok(records.some((r) => r.level === 'warn' && /restarting/.test(r.msg)));
    tr.close();
    const restarts = tr.stats.restarts;
    await sleep(400);
    assert.equal(tr.stats.restarts, restarts, 'no restart after close');
    assert.equal(tr.running, false);
  });

  it('rejects bad options by name', () => {
    const logger = collectingLogger().logger;
    assert.throws(() => new Transcoder({ ffmpegPath: '', inputCodec: 'H264', logger }), /ffmpegPath/);
    assert.throws(
      () => new Transcoder({ ffmpegPath: 'x', inputCodec: 'VP8' as 'H264', logger }),
      (e: Error) => e instanceof TypeError && /inputCodec/.test(e.message),
    );
    assert.throws(
      () => new Transcoder({ ffmpegPath: 'x', inputCodec: 'H264', fps: 0, logger }),
      (e: Error) => e instanceof RangeError && /fps/.test(e.message),
    );
  });
});
