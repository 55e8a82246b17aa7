import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  NOTICE_MESSAGES,
  SharedRtspSources,
  StreamConditioner,
  type StreamNotice,
} from '../../src/engine/media/index.js';
import type { TranscodeMode } from '../../src/engine/camera-profiles.js';
import { NAL_TYPE, nalType, parseH264Sps, type H264AccessUnit } from '../../src/rtsp/index.js';
import { createLogger, withFields, type LogRecord } from '../../src/util/index.js';
import { startEncoderCamera, type EncoderCameraOptions } from '../helpers/encoder-camera.js';
import { encodeClip } from '../helpers/ffmpeg-clips.js';

const PASSWORD = 'conditioner-secret-pw';

function logs(): { records: LogRecord[]; logger: ReturnType<typeof createLogger> } {
  const records: LogRecord[] = [];
  return { records, logger: createLogger('test', (r) => records.push(r)) };
}

/** A pull of an encoder camera through SharedRtspSources, one subscriber counting what it gets. */
async function pull(
  t: { after: (fn: () => unknown) => void },
  cam: EncoderCameraOptions,
  transcode: TranscodeMode,
  ffmpeg?: () => string | undefined,
) {
  const camera = await startEncoderCamera(cam);
  t.after(() => camera.close());
  const { records, logger } = logs();
  const sources = new SharedRtspSources({
    logger,
    rtsp: { backoff: { initialMs: 100, maxMs: 500 } },
    ...(ffmpeg ? { conditioner: { ffmpeg } } : {}),
  });
  t.after(() => sources.close());
  const url = camera.url.replace('rtsp://', `rtsp://admin:${PASSWORD}@`);
  sources.setProfiles(new Map([[url, { cameraId: 'cam-7', transcode }]]));
  const handle = sources.acquire(url);
  t.after(() => handle.release());
  const notices: StreamNotice[] = [];
  handle.on('notice', (n) => notices.push(n));
  const units: H264AccessUnit[] = [];
  t.after(handle.subscribe((au) => units.push(au)));
  return { handle, notices, units, records };
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  for (const end = Date.now() + ms; !cond(); await sleep(50)) assert.ok(Date.now() < end, `${what} within ${ms} ms`);
}

describe('StreamConditioner in SharedRtspSources (real encoder cameras)', () => {
  it(
    'passes plain H.264 untouched and logs what the camera sends, naming the camera',
    { timeout: 60_000 },
    async (t) => {
      const p = await pull(t, { codec: 'h264', bframes: 0, fps: 25 }, 'auto');
      await until('50 units', () => p.units.length >= 50);
      const line = p.records.find((r) => r.msg === 'camera stream');
      assert.deepEqual(line?.fields, {
        camera: 'cam-7',
        codec: 'H.264',
        profile: 'High',
        resolution: '320x240',
        fps: 25,
        bFrames: false,
        playedAs: 'as sent',
      });
      assert.equal(p.records.filter((r) => r.msg === 'camera stream').length, 1, 'once per stream start');
      assert.deepEqual(p.notices, []);
      assert.equal(p.handle.notice, undefined);
      assert.equal(parseH264Sps(p.units[0]!.nalus.find((n) => nalType(n) === NAL_TYPE.SPS)!)?.profileIdc, 100);
    },
  );

  it(
    'H.265 without FFmpeg: a clear notice on the handle and in the log, the pull fails',
    { timeout: 60_000 },
    async (t) => {
      const p = await pull(t, { codec: 'h265' }, 'auto', () => undefined);
      await until('failed', () => p.handle.state === 'failed');
      assert.deepEqual(p.notices, [{ code: 'CAMGATE_STREAM_UNSUPPORTED', message: NOTICE_MESSAGES.h265Unsupported }]);
      assert.deepEqual(p.handle.notice, p.notices[0]);
      assert.match(p.notices[0]!.message, /only H.264 video is supported/);
      const warn = p.records.find((r) => r.msg === 'camera stream notice');
      assert.equal(warn?.fields.camera, 'cam-7');
      assert.ok(!JSON.stringify(p.records).includes(PASSWORD), 'no password in any log line');
      assert.ok(!JSON.stringify(p.notices).includes(PASSWORD));
    },
  );

  it("H.265 with transcode 'never': the notice says which setting to change", { timeout: 60_000 }, async (t) => {
    const p = await pull(t, { codec: 'h265' }, 'never');
    await until('failed', () => p.handle.state === 'failed');
    assert.deepEqual(p.notices, [{ code: 'CAMGATE_STREAM_UNSUPPORTED', message: NOTICE_MESSAGES.h265Never }]);
  });

  it("transcode 'always' converts plain H.264 too", { timeout: 60_000 }, async (t) => {
    const p = await pull(t, { codec: 'h264', bframes: 0, fps: 25 }, 'always');
    await until('a transcoded keyframe', () => p.units.some((au) => au.keyframe));
    assert.deepEqual(p.notices, [{ code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.alwaysTranscoding }]);
    const sps = parseH264Sps(p.units.find((au) => au.keyframe)!.nalus.find((n) => nalType(n) === NAL_TYPE.SPS)!);
    assert.equal(sps?.profileIdc, 66, 'Constrained Baseline from FFmpeg');
  });
});

describe('StreamConditioner', () => {
  it('hands plain H.264 units on as the same objects (no copy, no transcoder)', { timeout: 60_000 }, async () => {
    const clip = await encodeClip({ codec: 'h264', profile: 'main', frames: 40 });
    const { logger } = logs();
    const c = new StreamConditioner({ logger, mode: () => 'auto', watched: () => true });
    const out: H264AccessUnit[] = [];
    c.on('accessUnit', (au) => out.push(au));
    c.onVideo({ codec: 'H264', payloadType: 96, clockRate: 90_000 });
    for (const au of clip) c.push(au);
    assert.equal(out.length, clip.length);
    out.forEach((au, i) => assert.equal(au, clip[i]));
    assert.equal(c.path, 'pass');
    assert.equal(c.transcoder, undefined);
    c.close();
  });

  it('tells viewers when FFmpeg stops and is restarted', { timeout: 30_000 }, async () => {
    const { logger, records } = logs();
    const c = new StreamConditioner({
      logger,
      mode: () => 'auto',
      watched: () => true,
      ffmpeg: () => '/bin/false', // a real executable that exits at once, as a crashing FFmpeg would
      transcoder: { restart: { initialMs: 50, maxMs: 100 } },
    });
    const notices: StreamNotice[] = [];
    let resets = 0;
    c.on('notice', (n) => notices.push(n));
    c.on('reset', () => resets++);
    c.onVideo({ codec: 'H265', payloadType: 96, clockRate: 90_000 });
    c.push({ nalus: [Buffer.from([0x26, 1, 0xaf])], timestamp: 0, keyframe: true });
    await until('a restart notice', () => notices.length >= 2);
    assert.deepEqual(notices.slice(0, 2), [
      { code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.h265Transcoding },
      { code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.transcoderRestarting },
    ]);
    assert.ok(resets >= 1, 'viewers wait for the next keyframe');
    assert.ok(records.some((r) => r.level === 'warn' && /FFmpeg\) stopped/.test(r.msg)));
    c.close();
  });

  it('starts FFmpeg only while someone watches', { timeout: 60_000 }, async () => {
    const clip = await encodeClip({ codec: 'h264', bframes: 2, frames: 30 });
    const { logger, records } = logs();
    let watched = false;
    const c = new StreamConditioner({
      logger: withFields(logger, { camera: 'c1' }),
      mode: () => 'auto',
      watched: () => watched,
    });
    const resets: number[] = [];
    c.on('reset', () => resets.push(1));
    c.onVideo({ codec: 'H264', payloadType: 96, clockRate: 90_000 });
    for (const au of clip.slice(0, 10)) c.push(au);
    assert.equal(c.path, 'transcode');
    assert.equal(c.transcoder, undefined, 'nobody watches: no FFmpeg');
    assert.equal(resets.length, 1);
    assert.equal(records.find((r) => r.msg === 'camera stream')?.fields.bFrames, true);
    watched = true;
    c.push(clip[10]!);
    assert.equal((c.transcoder as { running: boolean } | undefined)?.running, true, 'a viewer came: FFmpeg runs');
    watched = false;
    c.push(clip[11]!);
    assert.equal(c.transcoder, undefined, 'the viewer left: FFmpeg stopped');
    c.close();
  });
});
