import { after, describe, it } from 'node:test';
import { Socket as UdpSocket } from 'node:dgram';
import assert from 'node:assert/strict';
import { RTCPeerConnection, RTCRtpCodecParameters, RtcpSrPacket } from 'werift';
import { startCameraSim } from '@camgate/camera-sim';
import { waitUntil } from '@camgate/test-helpers';
import { SharedRtspSources, WebRtcPeer } from '../../src/engine/media/index.js';
import type { AudioFrame } from '../../src/engine/media/audio-codecs.js';
import { loopbackViewerConfig, SyntheticH264 } from '../helpers/webrtc-viewer.js';

// werift viewers with an audio and a video section leave one or two UDP sockets open after both
// peer connections closed (werift makes an ICE transport per m-section before BUNDLE folds them;
// measured: 6 sockets open, 1–2 after close, 0 without the audio section; Chromium viewers leave none,
// see media-audio-chromium). Everything of these tests is closed by now: close werift's leftovers so the
// file ends. Reported to the lead as a werift issue to chase.
after(() => {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  for (const h of handles) {
    if (!(h instanceof UdpSocket)) continue;
    try {
      h.close();
    } catch {
      // already closing
    }
  }
});

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

describe('WebRtcPeer lip sync (RFC 3550 §6.4.1)', () => {
  it(
    'the viewer’s audio and video sender reports put each frame at its camera capture time, on one clock',
    { timeout: 60_000 },
    async (t) => {
      const peer = new WebRtcPeer({ iceServers: [], interfaceAddress: '127.0.0.1' });
      t.after(() => peer.close());
      const cfg = loopbackViewerConfig();
      cfg!.codecs!.audio = [
        new RTCRtpCodecParameters({ mimeType: 'audio/PCMA', clockRate: 8000, channels: 1, payloadType: 8 }),
      ];
      const pc = new RTCPeerConnection(cfg);
      t.after(() => pc.close());
      // What arrives: frame/packet number → RTP timestamp on the viewer's timelines; and the last report per SSRC.
      const video = new Map<number, number>();
      const audio = new Map<number, number>();
      const ssrcOf = { video: 0, audio: 0 };
      const sr = new Map<number, { ntpMs: number; rtp: number }>();
      pc.onTrack.subscribe((track) => {
        track.onReceiveRtp.subscribe((rtp) => {
          if (track.kind === 'audio') {
            ssrcOf.audio = rtp.header.ssrc;
            audio.set(rtp.payload.readUInt32BE(0), rtp.header.timestamp);
          } else if ((rtp.payload[0]! & 0x1f) === 1 || (rtp.payload[0]! & 0x1f) === 5) {
            ssrcOf.video = rtp.header.ssrc;
            video.set(rtp.payload.readUInt32BE(1), rtp.header.timestamp);
          }
        });
      });
      pc.onIceCandidate.subscribe((c) => {
        if (c?.candidate && c.candidate.split(' ')[4] === '127.0.0.1')
          void peer.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid, sdpMLineIndex: c.sdpMLineIndex });
      });
      peer.on('iceCandidate', (c) => void pc.addIceCandidate(c));
      pc.addTransceiver('video', { direction: 'recvonly' });
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const offer = await pc.createOffer();
      const sld = pc.setLocalDescription(offer);
      const answer = await peer.processOffer(offer.sdp);
      await sld;
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      await peer.gatherCandidates();
      assert.deepEqual(peer.audioCodecs, ['PCMA']);
      for (const tr of pc.getTransceivers()) {
        tr.receiver.onRtcp.subscribe((p) => {
          if (!(p instanceof RtcpSrPacket)) return;
          const ntp = p.senderInfo.ntpTimestamp;
          const ntpMs = Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000;
          sr.set(p.ssrc, { ntpMs, rtp: p.senderInfo.rtpTimestamp });
        });
      }
      await new Promise<void>((resolve) => peer.once('connectionState', () => resolve()));

      // The camera's clock: frame k taken at T0 + 40k ms, audio packet j at T0 + 20j + 7 ms.
      const T0 = 1_700_000_000_000;
      const cam = new SyntheticH264(25, 300);
      let k = 0;
      let j = 0;
      const started = performance.now();
      const timer = setInterval(() => {
        const now = performance.now() - started;
        while (k * 40 <= now) {
          const au = cam.next();
          peer.feed({ ...au, ntpMs: T0 + 40 * k } as typeof au);
          k++;
        }
        while (j * 20 <= now) {
          const payload = Buffer.alloc(160, 0xd5);
          payload.writeUInt32BE(j, 0);
          peer.feedAudio({
            codec: 'PCMA',
            payload,
            timestamp: (0xfff0_0000 + j * 160) >>> 0,
            clockRate: 8000,
            samples: 160,
            ntpMs: T0 + 20 * j + 7,
          });
          j++;
        }
      }, 10);
      t.after(() => clearInterval(timer));
      await waitUntil(
        () => sr.has(ssrcOf.video) && sr.has(ssrcOf.audio) && video.size > 50 && audio.size > 100,
        'reports of both tracks',
        30_000,
      );
      clearInterval(timer);
      const v = sr.get(ssrcOf.video)!;
      const a = sr.get(ssrcOf.audio)!;
      const signed = (x: number): number => x | 0;
      const at = (ts: number, r: { ntpMs: number; rtp: number }, rate: number): number =>
        r.ntpMs + (signed(ts - r.rtp) * 1000) / rate;
      let worst = 0;
      for (const [frame, ts] of video) {
        for (const [packet, ats] of [...audio].filter(([n]) => n % 25 === 0)) {
          const measured = at(ts, v, 90_000) - at(ats, a, 8000);
          const truth = 40 * frame - (20 * packet + 7);
          worst = Math.max(worst, Math.abs(measured - truth));
        }
      }
      t.diagnostic(
        `largest audio/video offset error across ${video.size} frames × ${audio.size / 25} packets: ${worst.toFixed(2)} ms`,
      );
      assert.ok(worst < 2, `the reports line the tracks up to within 2 ms (worst ${worst.toFixed(2)} ms)`);
    },
  );
});

describe('RtspSourceHandle audio from the simulated AAC camera', () => {
  it(
    'acquireOpus gives 20 ms Opus packets stamped with the camera’s NTP time; the last release stops FFmpeg',
    { timeout: 60_000 },
    async (t) => {
      const cam = await startCameraSim({
        username: 'admin',
        password: 'audio-opus-pw',
        width: 160,
        height: 120,
        fps: 10,
        gopSeconds: 1,
        audio: { codec: 'AAC', toneHz: 1000 },
      });
      t.after(() => cam.close());
      const sources = new SharedRtspSources({ rtsp: { backoff: { initialMs: 50, maxMs: 200 } } });
      t.after(() => sources.close());
      const handle = sources.acquire(cam.urlWithCredentials);
      t.after(() => handle.release());
      const opus: AudioFrame[] = [];
      const off = handle.acquireOpus((f) => opus.push(f));
      await waitUntil(
        () => opus.filter((f) => f.ntpMs !== undefined).length >= 50,
        '50 Opus packets with NTP times',
        30_000,
      );
      assert.equal(handle.audioInfo!.codec, 'AAC');
      const stamped = opus.filter((f) => f.ntpMs !== undefined);
      assert.ok(stamped.every((f) => f.codec === 'OPUS' && f.clockRate === 48_000 && f.samples === 960));
      for (let i = 1; i < stamped.length; i++) {
        const dt = stamped[i]!.ntpMs! - stamped[i - 1]!.ntpMs!;
        const dts = (stamped[i]!.timestamp - stamped[i - 1]!.timestamp + 2 ** 32) % 2 ** 32;
        assert.ok(Math.abs(dt - dts / 48) < 1, `NTP and RTP times advance together (${dt} ms vs ${dts} samples)`);
      }
      off();
      handle.release();
      await sources.close();
    },
  );
});
