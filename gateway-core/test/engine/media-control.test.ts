/**
 * The control plane over the real media plane, driven by kurento-client:
 * a simulated RTSP camera (Digest auth) and a werift viewer, loopback only.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RTCPeerConnection } from 'werift';
import { cameraPipeline } from '../helpers/camera-pipeline.js';
import type { Kc } from '../helpers/engine.js';
import { loopbackViewerConfig } from '../helpers/webrtc-viewer.js';

const PASSWORD = 'engine-cam-pass-4d2e';
const CAM = { username: 'admin', password: PASSWORD, width: 160, height: 96, fps: 25 };

function nextEvent(obj: Kc, type: string, pred: (e: Record<string, unknown>) => boolean = () => true) {
  // The listener stays: removing it would make kurento-client send an unsubscribe during teardown.
  return new Promise<Record<string, unknown>>((resolve) => {
    obj.on(type, (e: Record<string, unknown>) => {
      if (pred(e)) resolve(e);
    });
  });
}

describe('KurentoEngine with the media plane', () => {
  it(
    'raises Error on the player when the camera refuses the password, without leaking it',
    { timeout: 30_000 },
    async (t) => {
      const { cam, engine, logs, client, pipeline } = await cameraPipeline(t, CAM);
      const wrong = 'wrong-cam-pass-88';
      const player = await pipeline.create('PlayerEndpoint', {
        uri: cam.url.replace('rtsp://', `rtsp://admin:${wrong}@`),
      });
      const error = nextEvent(player, 'Error');
      await client.getServerManager(); // the subscription is answered before play
      await player.play();
      const ev = await error;
      assert.equal(ev.errorCode, 40004);
      assert.equal(ev.type, 'CONNECT_ERROR');
      assert.match(String(ev.description), /CAMGATE_RTSP_AUTH/);
      assert.equal(await player.getState(), 'STOP');
      assert.equal(engine.stats().rtspSources, 0);
      const everything = JSON.stringify([ev, logs.records]);
      assert.ok(!everything.includes(wrong));
    },
  );

  it(
    'answers a browser offer, trickles candidates and flows the camera to the viewer',
    { timeout: 30_000 },
    async (t) => {
      const { cam, engine, client, pipeline } = await cameraPipeline(t, CAM);
      const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
      const webrtc = await pipeline.create('WebRtcEndpoint');

      const pc = new RTCPeerConnection(loopbackViewerConfig());
      t.after(() => pc.close());
      pc.addTransceiver('video', { direction: 'recvonly' });
      const gotTrack = new Promise<void>((resolve) =>
        pc.onTrack.subscribe((track) => track.onReceiveRtp.once(() => resolve())),
      );
      pc.onIceCandidate.subscribe((c) => {
        if (c)
          void webrtc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
      });

      const candidates: Record<string, unknown>[] = [];
      webrtc.on('IceCandidateFound', (e: { candidate: Record<string, unknown> }) => {
        candidates.push(e.candidate);
        void pc.addIceCandidate(e.candidate as never);
      });
      const gathered = nextEvent(webrtc, 'IceGatheringDone');
      const flowing = nextEvent(player, 'MediaFlowOutStateChanged', (e) => e.state === 'FLOWING');
      const connected = nextEvent(webrtc, 'ConnectionStateChanged', (e) => e.newState === 'CONNECTED');
      await client.getServerManager(); // subscriptions answered

      await player.connect(webrtc);
      await player.play();
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const answer: string = await webrtc.processOffer(pc.localDescription!.sdp);
      assert.match(answer, /^v=0/);
      assert.match(answer, /a=fingerprint:/);
      assert.match(answer, /H264/);
      assert.equal(await webrtc.getRemoteSessionDescriptor(), pc.localDescription!.sdp);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      await webrtc.gatherCandidates();

      await gathered;
      assert.ok(candidates.length > 0);
      assert.equal(candidates[0]!.__type__, 'IceCandidate');
      assert.match(String(candidates[0]!.candidate), /127\.0\.0\.1/);
      await flowing;
      await connected;
      await gotTrack;
      assert.deepEqual(engine.stats(), { sessions: 1, objects: 3, pipelines: 1, rtspSources: 1 });

      await pipeline.release();
      assert.deepEqual(engine.stats(), { sessions: 1, objects: 0, pipelines: 0, rtspSources: 0 });
    },
  );
});
