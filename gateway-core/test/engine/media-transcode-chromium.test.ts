/**
 * Streams a browser cannot take as they are, watched in Chromium (issue 11): H.264 High with
 * B-frames and H.265 from real encoders (GStreamer x264enc / x265enc RTSP cameras) through
 * SharedRtspSources (with its FFmpeg transcoder, or without FFmpeg: the non-reference filter)
 * and WebRtcPeer. Rates are measured against the camera's own clock (RTP timestamps of what
 * the engine forwarded), not against the wall clock.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser } from 'playwright-core';
import { SharedRtspSources, WebRtcPeer, type StreamNotice } from '../../src/engine/media/index.js';
import type { H264AccessUnit } from '../../src/rtsp/index.js';
import { launchChromium, openViewerPage, servePage, VIEWER_PAGE_HTML } from '@camgate/test-helpers';
import { startEncoderCamera, type EncoderCameraOptions } from '../helpers/encoder-camera.js';

/** FFmpeg processes that are children of this test process, with their command lines. */
function ffmpegChildren(): { pid: number; cmdline: string }[] {
  const out: { pid: number; cmdline: string }[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ');
      if (/ffmpeg/.test(cmdline.split(' ')[0] ?? '')) out.push({ pid: Number(d), cmdline });
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

interface Watched {
  notices: StreamNotice[];
  /** Frames forwarded to the viewer per second of camera time, over the measuring window. */
  forwardedFps: number;
  /** Frames Chromium decoded / frames forwarded, over the window. */
  decodedRatio: number;
  /** Longest time without a newly decoded frame during the window, ms (sampled every 50 ms). */
  longestFreezeMs: number;
  width: number;
  height: number;
  ffmpegCmdlines: string[];
}

async function watch(
  browser: Browser,
  cam: EncoderCameraOptions,
  sourcesOpts: ConstructorParameters<typeof SharedRtspSources>[0],
  cleanups: (() => unknown)[],
): Promise<Watched> {
  const camera = await startEncoderCamera(cam);
  cleanups.push(() => camera.close());
  const sources = new SharedRtspSources({ ...sourcesOpts, rtsp: { backoff: { initialMs: 100, maxMs: 500 } } });
  cleanups.push(() => sources.close());
  // The camera URL carries a password: FFmpeg's command line must never see it.
  const url = camera.url.replace('rtsp://', 'rtsp://viewer:transcode-secret-pw@');
  sources.setProfiles(new Map([[url, { cameraId: 'zoo-cam', transcode: 'auto' }]]));
  const handle = sources.acquire(url);
  cleanups.push(() => handle.release());
  const notices: StreamNotice[] = [];
  handle.on('notice', (n) => notices.push(n));
  const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
  cleanups.push(() => peer.close());
  const forwarded: number[] = []; // camera timestamps of what reached the peer
  cleanups.push(
    handle.subscribe((au: H264AccessUnit) => {
      forwarded.push(au.timestamp);
      peer.feed(au);
    }),
  );
  const site = await servePage(VIEWER_PAGE_HTML);
  cleanups.push(() => site.close());
  const viewer = await openViewerPage(browser, site.url, (c) => {
    peer.addIceCandidate(c).catch(() => undefined);
  });
  cleanups.push(() => viewer.page.close());
  peer.on('iceCandidate', (c) => {
    viewer.addCandidate(c).catch(() => undefined);
  });
  await viewer.answer(await peer.processOffer(await viewer.offer()));
  await peer.gatherCandidates();

  // Warm up: until Chromium decodes (bounded), then one more second.
  for (let i = 0; (await viewer.stats()).framesDecoded < 5; i++) {
    assert.ok(i < 300, `Chromium decodes within 30 s (notices: ${JSON.stringify(notices)})`);
    await sleep(100);
  }
  await sleep(1000);
  const s0 = await viewer.stats();
  const f0 = forwarded.length;
  let last = s0.framesDecoded;
  let lastChange = performance.now();
  let longest = 0;
  const windowEnd = performance.now() + 5_000;
  while (performance.now() < windowEnd) {
    await sleep(50);
    const n = (await viewer.stats()).framesDecoded;
    const now = performance.now();
    if (n !== last) {
      longest = Math.max(longest, now - lastChange);
      last = n;
      lastChange = now;
    }
  }
  longest = Math.max(longest, performance.now() - lastChange);
  const s1 = await viewer.stats();
  const window = forwarded.slice(f0);
  const span = ((window.at(-1)! - window[0]!) | 0) / 90_000; // 90 kHz RTP clock (RFC 6184 §5.1)
  return {
    notices,
    forwardedFps: (window.length - 1) / span,
    decodedRatio: (s1.framesDecoded - s0.framesDecoded) / (forwarded.length - f0),
    longestFreezeMs: Math.round(longest),
    width: s1.frameWidth,
    height: s1.frameHeight,
    ffmpegCmdlines: ffmpegChildren().map((p) => p.cmdline),
  };
}

describe('SharedRtspSources -> Chromium with cameras browsers cannot take as they are', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  it('H.264 High with B-frames: transcoded by FFmpeg, full frame rate, no freeze', { timeout: 120_000 }, async (t) => {
    const cleanups: (() => unknown)[] = [];
    t.after(async () => {
      for (const c of cleanups.reverse()) await c();
    });
    const w = await watch(browser, { codec: 'h264', bframes: 2, fps: 25 }, {}, cleanups);
    t.diagnostic(JSON.stringify({ ...w, ffmpegCmdlines: w.ffmpegCmdlines.length }));
    assert.deepEqual(
      w.notices.map((n) => n.code),
      ['CAMGATE_STREAM_TRANSCODING'],
    );
    assert.ok(w.forwardedFps >= 0.9 * 25, `forwarded ${w.forwardedFps.toFixed(1)} fps of the camera's 25`);
    assert.ok(w.decodedRatio >= 0.9, `Chromium decoded ${(w.decodedRatio * 100).toFixed(0)} % of what it got`);
    assert.ok(w.longestFreezeMs <= 1000, `longest freeze ${w.longestFreezeMs} ms`);
    assert.equal(`${w.width}x${w.height}`, '320x240');
    assert.equal(w.ffmpegCmdlines.length, 1, 'one FFmpeg for the camera');
    assert.match(w.ffmpegCmdlines[0]!, /-i pipe:0 .* pipe:1$/);
    assert.doesNotMatch(w.ffmpegCmdlines[0]!, /rtsp|transcode-secret-pw|viewer/);
  });

  it(
    'H.265: transcoded by FFmpeg, full frame rate, no freeze; FFmpeg stops with the pull',
    { timeout: 120_000 },
    async (t) => {
      const cleanups: (() => unknown)[] = [];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      const w = await watch(browser, { codec: 'h265', fps: 25 }, {}, cleanups);
      t.diagnostic(JSON.stringify({ ...w, ffmpegCmdlines: w.ffmpegCmdlines.length }));
      assert.deepEqual(
        w.notices.map((n) => [n.code, n.message]),
        [['CAMGATE_STREAM_TRANSCODING', 'H.265 converted to H.264 for browsers.']],
      );
      assert.ok(w.forwardedFps >= 0.9 * 25, `forwarded ${w.forwardedFps.toFixed(1)} fps of the camera's 25`);
      assert.ok(w.decodedRatio >= 0.9, `Chromium decoded ${(w.decodedRatio * 100).toFixed(0)} % of what it got`);
      assert.ok(w.longestFreezeMs <= 1000, `longest freeze ${w.longestFreezeMs} ms`);
      assert.equal(`${w.width}x${w.height}`, '320x240');
      assert.equal(w.ffmpegCmdlines.length, 1);
      // The last viewer leaves: the pull closes and FFmpeg is killed with it.
      for (const c of cleanups.splice(0).reverse()) await c();
      for (let i = 0; ffmpegChildren().length > 0; i++) {
        assert.ok(i < 50, 'FFmpeg ends within 5 s of the pull closing');
        await sleep(100);
      }
    },
  );

  it(
    'H.264 with B-frames and no FFmpeg: non-reference frames dropped, smooth at reduced rate',
    { timeout: 120_000 },
    async (t) => {
      const cleanups: (() => unknown)[] = [];
      t.after(async () => {
        for (const c of cleanups.reverse()) await c();
      });
      const w = await watch(
        browser,
        { codec: 'h264', bframes: 2, fps: 25 },
        { conditioner: { ffmpeg: () => undefined } },
        cleanups,
      );
      t.diagnostic(JSON.stringify(w));
      assert.deepEqual(
        w.notices.map((n) => n.code),
        ['CAMGATE_STREAM_BFRAMES_DROPPED'],
      );
      assert.match(w.notices[0]!.message, /Turn B-frames off in the camera's video settings/);
      // Two B-frames per reference: a third of the frames remain.
      assert.ok(
        w.forwardedFps >= 0.9 * (25 / 3) && w.forwardedFps <= 25 / 2,
        `forwarded ${w.forwardedFps.toFixed(1)} fps`,
      );
      assert.ok(w.decodedRatio >= 0.9, `Chromium decoded ${(w.decodedRatio * 100).toFixed(0)} % of what it got`);
      assert.ok(w.longestFreezeMs <= 1000, `longest freeze ${w.longestFreezeMs} ms`);
      assert.equal(w.ffmpegCmdlines.length, 0, 'no FFmpeg started');
    },
  );
});
