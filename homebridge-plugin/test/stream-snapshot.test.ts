/**
 * StreamSnapshots: a JPEG decoded by the real FFmpeg from a keyframe held in memory, served again within its
 * TTL, one decode shared by concurrent requests, and the fallback used (and logged once) only when nothing
 * is cached.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { decodeKeyframe, StreamSnapshots } from '../src/stream-snapshot.js';
import type { PrefixedLog } from '../src/log.js';

/** One H.264 IDR (with SPS/PPS) from FFmpeg's test source, split into NAL units without start codes. */
function keyframe(): Buffer[] {
  const r = spawnSync(
    'ffmpeg',
    ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x96:rate=1', '-frames:v', '1'].concat([
      '-c:v',
      'libx264',
      '-bsf:v',
      'h264_mp4toannexb',
      '-f',
      'h264',
      'pipe:1',
    ]),
    { maxBuffer: 1 << 20, timeout: 30_000 },
  );
  assert.equal(r.status, 0, 'FFmpeg encodes the test keyframe');
  const out = r.stdout;
  const nalus: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 2 < out.length; i++) {
    if (out[i] === 0 && out[i + 1] === 0 && out[i + 2] === 1) {
      if (start >= 0) nalus.push(out.subarray(start, i > 0 && out[i - 1] === 0 ? i - 1 : i));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nalus.push(out.subarray(start));
  return nalus;
}

function recorder(): PrefixedLog & { lines: string[] } {
  const lines: string[] = [];
  const rec = (level: string) => (m: string) => void lines.push(`${level}: ${m}`);
  return { lines, debug: rec('debug'), info: rec('info'), warn: rec('warn'), error: rec('error') };
}

const isJpeg = (b: Buffer): boolean => b.length > 100 && b[0] === 0xff && b[1] === 0xd8;

describe('StreamSnapshots', () => {
  it('decodes a keyframe held in memory to a JPEG with FFmpeg on stdin', { timeout: 30_000 }, async () => {
    const key = keyframe();
    assert.deepEqual(
      key.slice(0, 2).map((n) => n[0]! & 0x1f),
      [7, 8],
    );
    assert.ok(isJpeg(await decodeKeyframe(key)));
    await assert.rejects(decodeKeyframe([Buffer.from([0x65, 1, 2, 3])]), /decoded no picture/);
  });

  it('serves one decode for its TTL, shares it between concurrent requests, then decodes again', async () => {
    const key = keyframe();
    let asked = 0;
    let now = 1_000;
    const log = recorder();
    const snaps = new StreamSnapshots({
      keyframe: () => (asked++, key),
      fallback: () => Promise.reject(new Error('no fallback expected')),
      ttlMs: 5_000,
      log,
      now: () => now,
    });
    const [a, b] = await Promise.all([snaps.take(640), snaps.take(320)]);
    assert.ok(isJpeg(a!));
    assert.strictEqual(a, b, 'concurrent requests share one decode');
    assert.equal(asked, 1);
    now += 4_999;
    assert.strictEqual(await snaps.take(640), a, 'within the TTL: the same JPEG');
    assert.equal(asked, 1);
    now += 1;
    const c = await snaps.take(640);
    assert.ok(isJpeg(c));
    assert.notStrictEqual(c, a, 'past the TTL: decoded again');
    assert.equal(asked, 2);
    assert.ok(!log.lines.some((l) => l.startsWith('info')), 'nothing to tell while the cache serves');
  });

  it('falls back only when nothing is cached, says so once, and says when the cache serves again', async () => {
    const key = keyframe();
    let cached: Buffer[] | undefined = undefined;
    let fallbacks = 0;
    const fake = Buffer.from([0xff, 0xd8, ...Buffer.alloc(200)]);
    const log = recorder();
    const snaps = new StreamSnapshots({
      keyframe: () => cached,
      fallback: () => (fallbacks++, Promise.resolve(fake)),
      ttlMs: 0,
      log,
    });
    assert.strictEqual(await snaps.take(640), fake);
    assert.strictEqual(await snaps.take(640), fake);
    assert.equal(fallbacks, 2);
    assert.deepEqual(
      log.lines.filter((l) => l.startsWith('info')),
      ['info: no stream of this camera is cached: snapshot from a new RTSP session (FFmpeg) instead'],
    );
    cached = key;
    assert.ok(isJpeg(await snaps.take(640)));
    assert.equal(fallbacks, 2);
    assert.equal(log.lines.filter((l) => l === 'info: snapshots come from the cached stream again').length, 1);
  });

  it('refuses a TTL that is not a whole number of ms', () => {
    const o = { keyframe: () => undefined, fallback: () => Promise.reject(new Error('x')), log: recorder() };
    assert.throws(() => new StreamSnapshots({ ...o, ttlMs: -1 }), RangeError);
    assert.throws(() => new StreamSnapshots({ ...o, ttlMs: 1.5 }), /ttlMs/);
  });
});
