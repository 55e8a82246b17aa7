import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { loadavg } from 'node:os';
import { startCameraSim } from '@camgate/camera-sim';
import { launchChromium, servePage, waitUntil } from '@camgate/test-helpers';
import { SharedRtspSources, WebRtcPeer } from '../../src/engine/media/index.js';
import { AUDIO_VIEWER_HTML, openAudioViewer } from '../helpers/audio-viewer.js';

/**
 * The page measures, on its own clock, when each flash is shown (requestVideoFrameCallback,
 * mean brightness of the frame) and when each beep is heard (AnalyserNode time-domain level):
 * the simulated camera makes both at the same capture instant every 2 s.
 */
const SYNC_PAGE = AUDIO_VIEWER_HTML.replace(
  '</script></body></html>',
  `
window.sync = { flashes: [], beeps: [] };
window.startSync = () => {
  const v = document.getElementById('v');
  const c = document.createElement('canvas'); c.width = 8; c.height = 6;
  const g = c.getContext('2d', { willReadFrequently: true });
  let bright = false;
  const onFrame = (now) => {
    g.drawImage(v, 0, 0, 8, 6);
    const d = g.getImageData(0, 0, 8, 6).data;
    let sum = 0; for (let i = 0; i < d.length; i += 4) sum += d[i + 1];
    const b = sum / 48 > 200;
    if (b && !bright) window.sync.flashes.push(performance.now());
    bright = b;
    v.requestVideoFrameCallback(onFrame);
  };
  v.requestVideoFrameCallback(onFrame);
  const an = analyser; const buf = new Float32Array(256);
  let loud = false;
  an.fftSize = 256;
  setInterval(() => {
    if (ctx.state !== 'running') ctx.resume();
    an.getFloatTimeDomainData(buf);
    let e = 0; for (const s of buf) e += s * s;
    const l = Math.sqrt(e / buf.length) > 0.05;
    if (l && !loud) window.sync.beeps.push(performance.now());
    loud = l;
  }, 4);
};
</script></body></html>`,
);

async function measure(t: TestContext, codec: 'PCMA' | 'AAC'): Promise<number[]> {
  const cam = await startCameraSim({
    username: 'admin',
    password: 'sync-cam-pw',
    width: 320,
    height: 240,
    fps: 25,
    gopSeconds: 2,
    audio: { codec, toneHz: 1000 },
    syncMarks: { everySeconds: 2 },
  });
  t.after(() => cam.close());
  const sources = new SharedRtspSources({ rtsp: { backoff: { initialMs: 50, maxMs: 200 } } });
  t.after(() => sources.close());
  const handle = sources.acquire(cam.urlWithCredentials);
  t.after(() => handle.release());
  const site = await servePage(SYNC_PAGE);
  t.after(() => site.close());
  const browser = await launchChromium(['--autoplay-policy=no-user-gesture-required']);
  t.after(() => browser.close());
  const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
  t.after(() => peer.close());
  const viewer = await openAudioViewer(browser, site.url, (c) => void peer.addIceCandidate(c).catch(() => undefined));
  peer.on('iceCandidate', (c) => void viewer.addCandidate(c).catch(() => undefined));
  await viewer.answer(await peer.processOffer(await viewer.offer()));
  await peer.gatherCandidates();
  t.after(handle.subscribe((au) => peer.feed(au)));
  t.after(handle.subscribeAudio((f) => peer.feedAudio(f), { accept: peer.audioCodecs }));
  await waitUntil(
    async () => (await viewer.stats()).framesDecoded > 25 && (await viewer.stats()).audioPackets > 50,
    'audio and video',
    60_000,
  );
  await viewer.page.evaluate(() => (globalThis as unknown as { startSync(): void }).startSync());
  type S = { sync: { flashes: number[]; beeps: number[] } };
  const read = () => viewer.page.evaluate(() => (globalThis as unknown as S).sync);
  // 12 marks: the browser's A/V sync settles over the first seconds (its jitter buffers adapt).
  const s = await (async () => {
    let last = await read();
    await waitUntil(
      async () => {
        last = await read();
        return last.flashes.length >= 12 && last.beeps.length >= 12;
      },
      '12 flashes and beeps',
      120_000,
    );
    return last;
  })();
  // Pair each of the last 6 flashes with the nearest beep (marks are 2 s apart: nearest is its own).
  const offsets = s.flashes.slice(-6).map((f) => {
    const b = s.beeps.reduce((best, x) => (Math.abs(x - f) < Math.abs(best - f) ? x : best));
    return Math.round(b - f);
  });
  return offsets;
}

describe('audio/video sync in Chromium (camera-sim flash + beep)', () => {
  for (const codec of ['PCMA', 'AAC'] as const) {
    it(`${codec}: the beep is heard when the flash is shown`, { timeout: 240_000 }, async (t) => {
      const offsets = await measure(t, codec);
      t.diagnostic(
        `${codec} audio − video (ms, last 6 marks): ${offsets.join(' ')}; load average ${loadavg()[0]!.toFixed(2)}`,
      );
      // Not a performance bound: without sender reports on one clock the tracks drift apart by the
      // pipeline's difference (FFmpeg's buffering for AAC), and nothing pairs beeps with flashes.
      assert.ok(
        offsets.every((o) => Math.abs(o) < 1000),
        `beep and flash within 1 s: ${offsets.join(' ')}`,
      );
    });
  }
});
