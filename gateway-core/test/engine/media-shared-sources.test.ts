import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { SharedRtspSources, WebRtcPeer, type RtspSourceHandle } from '../../src/engine/media/index.js';
import type { H264AccessUnit } from '../../src/rtsp/index.js';
import { startCameraSim, type CameraSim } from '../../src/rtsp/sim/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { connectViewer, nalTypes } from '../helpers/webrtc-viewer.js';

const PASSWORD = 'cam-pass-7f3a9c';
const SMALL = { username: 'admin', password: PASSWORD, width: 160, height: 96, fps: 25 };
const RTSP = { backoff: { initialMs: 50, maxMs: 200 } };

/** Resolves when `pred` holds; checked on every poll tick (the test's own timeout bounds it). */
async function until(pred: () => boolean): Promise<void> {
  while (!pred()) await sleep(10);
}

async function sim(
  t: { after: (fn: () => unknown) => void },
  opts: Parameters<typeof startCameraSim>[0],
): Promise<CameraSim> {
  const s = await startCameraSim(opts);
  t.after(() => s.close());
  return s;
}

function collect(h: RtspSourceHandle): H264AccessUnit[] {
  const aus: H264AccessUnit[] = [];
  h.subscribe((au) => aus.push(au));
  return aus;
}

describe('SharedRtspSources', () => {
  it(
    'fans one RTSP session out to two subscribers and closes it after the last release',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 1 });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      const a = sources.acquire(cam.urlWithCredentials);
      const b = sources.acquire(cam.urlWithCredentials);
      assert.equal(sources.size, 1);
      const ra = collect(a);
      const rb = collect(b);
      await until(() => ra.length >= 30 && rb.length >= 30);
      assert.equal(cam.stats.sessions, 1, 'one RTSP session at the camera');
      assert.equal(a.state, 'playing');
      assert.deepEqual(nalTypes(ra[0]!).slice(0, 2), [7, 8], 'starts with SPS/PPS');
      assert.ok(ra[0]!.keyframe);
      assert.strictEqual(ra[5], rb[5], 'the same access unit object goes to both (no copy)');
      a.release();
      a.release(); // idempotent
      assert.equal(sources.size, 1, 'b still holds it');
      b.release();
      assert.equal(sources.size, 0);
      await until(() => cam.stats.playing === 0);
      assert.equal(cam.stats.sessions, 1);
    },
  );

  it(
    'gives a subscriber joining mid-GOP an IDR first, synchronously, then live frames',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 4 });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      const first = sources.acquire(cam.urlWithCredentials);
      const early = collect(first);
      // 2 s into a 4 s GOP: 50 frames after the IDR that opened it.
      await until(() => early.length >= 50);
      assert.equal(early.filter((au) => au.keyframe).length, 1, 'still inside the first GOP');

      const late = sources.acquire(cam.urlWithCredentials);
      const got = collect(late); // the replay happens inside subscribe()
      assert.ok(got.length >= 50, `the cached GOP was delivered at once (${got.length} units)`);
      assert.ok(got[0]!.keyframe);
      assert.deepEqual(nalTypes(got[0]!).slice(0, 3), [7, 8, 5]);
      assert.deepEqual(
        got.map((au) => au.timestamp),
        early.slice(0, got.length).map((au) => au.timestamp),
        'the replay is the GOP in camera order',
      );
      assert.ok(got.every((au) => (au as { replay?: boolean }).replay === true));
      const replayed = got.length;
      await until(() => got.length >= replayed + 5);
      assert.ok(
        got.slice(replayed).every((au) => !(au as { replay?: boolean }).replay),
        'then live frames',
      );
      assert.ok(got[replayed]!.timestamp > got[replayed - 1]!.timestamp);
    },
  );

  it(
    'reports retrying when the camera drops and resumes with an IDR when it returns',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 1 });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      const h = sources.acquire(cam.urlWithCredentials);
      const states: string[] = [];
      h.on('state', (s) => states.push(s));
      const aus = collect(h);
      await until(() => aus.length >= 5);
      await cam.stop();
      await until(() => states.includes('retrying'));
      const before = aus.length;
      await cam.resume();
      await until(() => states.at(-1) === 'playing' && aus.length >= before + 5);
      assert.ok(aus[before]!.keyframe, 'the first unit after recovery is an IDR');
      assert.equal(h.state, 'playing');
    },
  );

  it(
    'propagates a wrong password as failed with CAMGATE_RTSP_AUTH and never leaks the uri credentials',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL });
      const sink = memorySink();
      const sources = new SharedRtspSources({ rtsp: RTSP, logger: createLogger('test', sink) });
      t.after(() => sources.close());
      const wrong = 'wrong-secret-991';
      const uri = cam.url.replace('rtsp://', `rtsp://admin:${wrong}@`);
      const h = sources.acquire(uri);
      const [state, detail] = (await once(h, 'state')) as [string, { error?: { code: string; message: string } }];
      assert.equal(state, 'failed');
      assert.equal(h.state, 'failed');
      assert.equal(detail.error?.code, 'CAMGATE_RTSP_AUTH');
      const everything = JSON.stringify([detail.error?.message, sink.records]);
      assert.ok(!everything.includes(wrong));
      assert.ok(!everything.includes(PASSWORD));
      h.release();
      assert.equal(sources.size, 0);
    },
  );

  it(
    'delivers IDRs with SPS/PPS from a camera that sends them only in sprop-parameter-sets',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 1, sendParameterSetsInBand: false });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      const h = sources.acquire(cam.urlWithCredentials);
      const aus = collect(h);
      await until(() => aus.filter((au) => au.keyframe).length >= 2);
      assert.ok(h.videoInfo?.sps && h.videoInfo.pps, 'the SDP carried the parameter sets');
      for (const au of aus.filter((x) => x.keyframe)) assert.deepEqual(nalTypes(au).slice(0, 3), [7, 8, 5]);
    },
  );

  it(
    'gives the cached keyframe of an open pull (SPS, PPS, IDR) and never opens a pull for it',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 1 });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      assert.equal(sources.latestKeyframe(cam.urlWithCredentials), undefined, 'no pull: nothing');
      assert.equal(sources.size, 0, 'asking did not start a pull');
      const h = sources.acquire(cam.urlWithCredentials);
      const aus = collect(h);
      await until(() => aus.some((au) => au.keyframe));
      const key = sources.latestKeyframe(cam.urlWithCredentials);
      assert.ok(key);
      assert.deepEqual(
        key.slice(0, 3).map((n) => n[0]! & 0x1f),
        [7, 8, 5],
      );
      assert.equal(sources.latestKeyframe(`${cam.urlWithCredentials}?other`), undefined);
      assert.equal(cam.stats.sessions, 1);
      h.release();
      assert.equal(sources.latestKeyframe(cam.urlWithCredentials), undefined, 'released: the cache went with it');
    },
  );

  it('validates its inputs and is closed for good after close()', async () => {
    const sources = new SharedRtspSources();
    assert.throws(() => sources.acquire('http://x/'), TypeError);
    assert.throws(() => sources.acquire(42 as never), TypeError);
    assert.throws(() => sources.acquire('rtsp://' + 'a'.repeat(5000)), TypeError);
    assert.throws(() => new SharedRtspSources({ gopMaxBytes: 10 }), RangeError);
    await Promise.all([sources.close(), sources.close()]);
    assert.throws(() => sources.acquire('rtsp://127.0.0.1:1/x'), { code: 'CAMGATE_ENGINE_CLOSED' });
  });

  it('refuses subscribe on a released handle', { timeout: 30_000 }, async (t) => {
    const cam = await sim(t, { ...SMALL });
    const sources = new SharedRtspSources({ rtsp: RTSP });
    t.after(() => sources.close());
    const h = sources.acquire(cam.urlWithCredentials);
    h.release();
    assert.throws(() => h.subscribe(() => undefined), { code: 'CAMGATE_ENGINE_STATE' });
  });
});

describe('SharedRtspSources -> WebRtcPeer -> werift viewer', () => {
  it(
    'delivers the simulated camera to a viewer starting with SPS/PPS/IDR, across a camera restart',
    { timeout: 30_000 },
    async (t) => {
      const cam = await sim(t, { ...SMALL, gopSeconds: 4 });
      const sources = new SharedRtspSources({ rtsp: RTSP });
      t.after(() => sources.close());
      const h = sources.acquire(cam.urlWithCredentials);
      t.after(() => h.release());
      const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
      t.after(() => peer.close());
      const unsubscribe = h.subscribe((au) => peer.feed(au));
      t.after(unsubscribe);
      const viewer = await connectViewer(peer);
      t.after(() => viewer.close());
      await viewer.waitFor((v) => v.aus.length >= 30);
      assert.deepEqual(nalTypes(viewer.aus[0]!).slice(0, 3), [7, 8, 5]);

      // The camera goes away and comes back: its RTP clock restarts, the viewer's must not.
      const retrying = once(h, 'state');
      await cam.stop();
      assert.equal((await retrying)[0], 'retrying');
      const before = viewer.aus.length;
      await cam.resume();
      await viewer.waitFor((v) => v.aus.length >= before + 30);
      assert.ok(viewer.aus[before]!.keyframe, 'after the reconnect the viewer resumes at an IDR');
      assert.equal(viewer.ssrcs.size, 1, 'same SSRC throughout');
      for (let i = 1; i < viewer.timestamps.length; i++) {
        assert.ok(viewer.timestamps[i]! > viewer.timestamps[i - 1]!, `timestamp ${i} advances`);
      }
    },
  );
});
