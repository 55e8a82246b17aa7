import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpSrPacket } from 'werift';
import { startCameraSim } from '@camgate/camera-sim';
import { waitUntil } from '@camgate/test-helpers';
import { SharedRtspSources, WebRtcPeer } from '../../src/engine/media/index.js';
import type { AudioFrame } from '../../src/engine/media/audio-codecs.js';
import { loopbackViewerConfig } from '../helpers/webrtc-viewer.js';

describe('WebRtcPeer audio with a werift viewer and the simulated camera', () => {
  it(
    'generateOffer path: a viewer that answers PCMA gets the camera’s A-law untouched, with audio sender reports',
    { timeout: 60_000 },
    async (t) => {
      const cam = await startCameraSim({
        username: 'admin',
        password: 'audio-peer-pw',
        width: 160,
        height: 120,
        fps: 10,
        gopSeconds: 1,
        audio: { codec: 'PCMA', toneHz: 1000 },
      });
      t.after(() => cam.close());
      const sources = new SharedRtspSources({ rtsp: { backoff: { initialMs: 50, maxMs: 200 } } });
      t.after(() => sources.close());
      const handle = sources.acquire(cam.urlWithCredentials);
      t.after(() => handle.release());
      const raw: AudioFrame[] = [];
      t.after(handle.subscribeAudio((f) => raw.push(f)));
      await waitUntil(() => handle.audioInfo !== undefined, 'the camera’s audio track', 20_000);
      assert.equal(handle.audioInfo!.codec, 'PCMA');

      const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
      t.after(() => peer.close());
      const offer = await peer.generateOffer();
      assert.match(offer, /^m=audio .* 111 0 8\r?$/m, 'Opus, PCMU and PCMA offered');
      assert.match(offer, /^a=rtpmap:8 PCMA\/8000/m);

      const cfg = loopbackViewerConfig();
      cfg!.codecs!.audio = [
        new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
      ];
      const pc = new RTCPeerConnection(cfg);
      t.after(() => pc.close());
      const got: { pt: number; payload: Buffer; ssrc: number }[] = [];
      const reports = new Map<number, number>();
      pc.onTrack.subscribe((track) => {
        if (track.kind !== 'audio') return;
        track.onReceiveRtp.subscribe((rtp) =>
          got.push({ pt: rtp.header.payloadType, payload: rtp.payload, ssrc: rtp.header.ssrc }),
        );
      });
      pc.onIceCandidate.subscribe((c) => {
        if (c?.candidate && c.candidate.split(' ')[4] === '127.0.0.1')
          void peer.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
      });
      peer.on('iceCandidate', (c) => void pc.addIceCandidate(c));
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      const answer = await pc.createAnswer();
      await pc.setLocalDescription(answer);
      await peer.processAnswer(pc.localDescription!.sdp);
      assert.deepEqual(peer.audioCodecs, ['PCMA']);
      await peer.gatherCandidates();
      for (const tr of pc.getTransceivers()) {
        tr.receiver.onRtcp.subscribe((p) => {
          if (p instanceof RtcpSrPacket) reports.set(p.ssrc, (reports.get(p.ssrc) ?? 0) + 1);
        });
      }
      t.after(handle.subscribe((au) => peer.feed(au)));
      t.after(handle.subscribeAudio((f) => peer.feedAudio(f), { accept: peer.audioCodecs }));

      await waitUntil(() => got.length >= 100, '100 audio packets at the viewer', 30_000);
      assert.ok(got.every((p) => p.pt === 8));
      // Untouched: every payload received is one the camera sent, byte for byte.
      const sent = new Set(raw.map((f) => f.payload.toString('hex')));
      assert.ok(
        got.every((p) => sent.has(p.payload.toString('hex'))),
        'the A-law goes out as the camera sent it',
      );
      const audioSsrc = got[0]!.ssrc;
      await waitUntil(() => (reports.get(audioSsrc) ?? 0) >= 2, 'two audio sender reports', 20_000);
    },
  );
});
