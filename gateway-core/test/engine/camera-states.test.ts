/**
 * Honest camera states (issue 11): the built-in engine's CameraStateChanged on a
 * PlayerEndpoint, with a real simulated camera that stops, refuses, hangs
 * without closing its connection, or has another password; and a werift
 * viewer whose keyframe requests during an outage must not be answered with
 * frames from before it. Loopback only.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { RTCPeerConnection, type RTCRtpTransceiver } from 'werift';
import { KurentoClient, type JsonObject } from '../../src/kurento/index.js';
import { startCameraSim, type CameraSimOptions } from '@camgate/camera-sim';
import { startEngine } from '../helpers/engine.js';
import { loopbackViewerConfig } from '../helpers/webrtc-viewer.js';

const PASSWORD = 'states-cam-pass-7c1f';
const CAM: CameraSimOptions = { username: 'admin', password: PASSWORD, width: 160, height: 96, fps: 25, gopSeconds: 1 };

interface Seen {
  state: string;
  reason?: string;
  final?: boolean;
  at: number;
}

/** Resolves with the first element of `list` (from `from` on) that `pred` accepts; rejects after `ms`. */
function waitFor<T>(list: T[], pred: (x: T) => boolean, ms: number, what: string, from = 0): Promise<T> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const hit = list.slice(from).find(pred);
      if (hit) return resolve(hit);
      if (performance.now() - t0 > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(poll, 20);
    };
    poll();
  });
}

async function playerOf(t: TestContext, engineUrl: string, uri: string, withSink: boolean) {
  const client = await KurentoClient.connect(engineUrl, {});
  t.after(() => client.close());
  const pipeline = await client.create('MediaPipeline');
  const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri });
  const webrtc = await client.create('WebRtcEndpoint', { mediaPipeline: pipeline });
  const states: Seen[] = [];
  await client.subscribe(player, 'CameraStateChanged', (e) => {
    const d = e.data;
    states.push({
      state: String(d.state),
      ...(typeof d.reason === 'string' ? { reason: d.reason } : {}),
      ...(d.final === true ? { final: true } : {}),
      at: performance.now(),
    });
  });
  if (withSink) await client.invoke(player, 'connect', { sink: webrtc });
  await client.invoke(player, 'play');
  return { client, pipeline, player, webrtc, states };
}

/** A port on loopback where nothing listens (bound, closed). */
async function closedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe('CameraStateChanged (engine)', () => {
  it('says "unreachable: wrong password" at once and stops retrying, without the password', async (t) => {
    const cam = await startCameraSim(CAM);
    t.after(() => cam.close());
    const { engine, logs } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const uri = cam.url.replace('rtsp://', 'rtsp://admin:not-the-password-31@');
    const { states } = await playerOf(t, engine.url, uri, true);
    const s = await waitFor(states, (x) => x.state === 'unreachable', 10_000, 'unreachable');
    assert.deepEqual({ reason: s.reason, final: s.final }, { reason: 'wrong password', final: true });
    assert.equal(states[0]!.state, 'connecting');
    const text = JSON.stringify([states, logs.records]);
    assert.ok(!text.includes('not-the-password-31'));
    assert.ok(logs.records.some((r) => r.msg === 'camera status' && r.fields.state === 'unreachable'));
  });

  it('says "unreachable: refused" within 10 s when nothing answers, and keeps retrying', async (t) => {
    const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const port = await closedPort();
    const t0 = performance.now();
    const { states } = await playerOf(t, engine.url, `rtsp://127.0.0.1:${port}/stream1`, true);
    const s = await waitFor(states, (x) => x.state === 'unreachable', 10_000, 'unreachable');
    assert.equal(s.reason, 'refused');
    assert.notEqual(s.final, true);
    assert.ok(s.at - t0 <= 10_000, `unreachable after ${Math.round(s.at - t0)} ms`);
    // Still trying: a camera that comes up on that port is picked up (the sim takes the port now).
    const cam = await startCameraSim({ ...CAM, username: undefined, password: undefined, port });
    t.after(() => cam.close());
    const back = performance.now();
    const live = await waitFor(states, (x) => x.state === 'live', 10_000, 'live');
    assert.ok(live.at - back <= 3_000, `live ${Math.round(live.at - back)} ms after the camera came up`);
  });

  it('goes lost → unreachable → live when a watched camera is switched off and on, back within 3 s', async (t) => {
    const cam = await startCameraSim(CAM);
    t.after(() => cam.close());
    const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const { states } = await playerOf(t, engine.url, cam.urlWithCredentials, true);
    await waitFor(states, (x) => x.state === 'live', 10_000, 'live');
    const off = performance.now();
    await cam.stop();
    const lost = await waitFor(states, (x) => x.state === 'reconnecting', 5_000, 'reconnecting');
    assert.ok(lost.at - off <= 3_000, `lost after ${Math.round(lost.at - off)} ms`);
    const gone = await waitFor(states, (x) => x.state === 'unreachable', 12_000, 'unreachable');
    assert.equal(gone.reason, 'refused');
    assert.ok(gone.at - off <= 10_000, `unreachable after ${Math.round(gone.at - off)} ms`);
    const mark = states.length;
    const on = performance.now();
    await cam.resume();
    const live = await waitFor(states, (x) => x.state === 'live', 10_000, 'live again', mark);
    assert.ok(live.at - on <= 3_000, `live ${Math.round(live.at - on)} ms after the camera returned`);
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'live', 'reconnecting', 'unreachable', 'live'],
    );
    t.diagnostic(
      `lost ${Math.round(lost.at - off)} ms, unreachable ${Math.round(gone.at - off)} ms after stop; live ${Math.round(live.at - on)} ms after resume`,
    );
  });

  it('says "lost — reconnecting" within 3 s of a camera that stops sending without closing, and replays nothing stale', async (t) => {
    const cam = await startCameraSim(CAM);
    t.after(() => cam.close());
    const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const { client, player, webrtc, states } = await playerOf(t, engine.url, cam.urlWithCredentials, true);

    // A werift viewer: counts RTP, and asks for keyframes during the outage.
    const pc = new RTCPeerConnection(loopbackViewerConfig());
    t.after(() => pc.close());
    const transceiver: RTCRtpTransceiver = pc.addTransceiver('video', { direction: 'recvonly' });
    const rtp: { at: number; ssrc: number }[] = [];
    pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((p) => rtp.push({ at: performance.now(), ssrc: p.header.ssrc })),
    );
    pc.onIceCandidate.subscribe((c) => {
      if (c) {
        const candidate: JsonObject = { __module__: 'kurento', __type__: 'IceCandidate', candidate: c.candidate };
        if (c.sdpMid !== undefined) candidate.sdpMid = c.sdpMid;
        if (c.sdpMLineIndex !== undefined) candidate.sdpMLineIndex = c.sdpMLineIndex;
        void client.invoke(webrtc, 'addIceCandidate', { candidate }).catch(() => undefined);
      }
    });
    await client.subscribe(webrtc, 'IceCandidateFound', (e) => {
      void pc.addIceCandidate(e.data.candidate as never).catch(() => undefined);
    });
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await client.invoke(webrtc, 'processOffer', { offer: pc.localDescription!.sdp });
    await pc.setRemoteDescription({ type: 'answer', sdp: String(answer) });
    await client.invoke(webrtc, 'gatherCandidates');
    await waitFor(states, (x) => x.state === 'live', 10_000, 'live');
    await waitFor(rtp, () => true, 15_000, 'first RTP');

    const frozenAt = performance.now();
    cam.freeze();
    const lost = await waitFor(states, (x) => x.state === 'reconnecting', 5_000, 'reconnecting');
    assert.equal(lost.reason, 'stopped sending video');
    assert.ok(lost.at - frozenAt <= 3_000, `lost after ${Math.round(lost.at - frozenAt)} ms`);
    assert.equal(await client.invoke(player, 'isMediaFlowingOut', { mediaType: 'VIDEO' }), false);

    // Keyframe requests in the outage: the engine has nothing current to send, and must send nothing old.
    const before = rtp.length;
    const ssrc = rtp[0]!.ssrc;
    for (let i = 0; i < 4; i++) {
      await transceiver.receiver.sendRtcpPLI(ssrc);
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.equal(rtp.length, before, 'RTP was sent for keyframe requests during the outage (stale frames)');

    const mark = states.length;
    const back = performance.now();
    cam.unfreeze();
    const live = await waitFor(states, (x) => x.state === 'live', 10_000, 'live again', mark);
    const next = await waitFor(rtp, (p) => p.at > back, 10_000, 'RTP after the outage');
    assert.ok(live.at - back <= 3_000, `live ${Math.round(live.at - back)} ms after the camera sent again`);
    assert.ok(next.at - back <= 3_000, `video ${Math.round(next.at - back)} ms after the camera sent again`);
    t.diagnostic(
      `lost ${Math.round(lost.at - frozenAt)} ms after freeze; live ${Math.round(live.at - back)} ms, RTP ${Math.round(next.at - back)} ms after unfreeze`,
    );
    const seq = states.map((s) => s.state);
    assert.deepEqual(seq.slice(0, 3), ['connecting', 'live', 'reconnecting']);
    assert.equal(seq.at(-1), 'live');
  });
});
