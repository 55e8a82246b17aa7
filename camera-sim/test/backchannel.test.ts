/**
 * The ONVIF back channel (ONVIF Streaming Specification §5.3): GStreamer's
 * real ONVIF client (rtspsrc backchannel=onvif) talks into the camera over TCP
 * and UDP, in G.711 and AAC, and `backchannelRecording()` finds its tone; the
 * back channel is described only to a client that requires it; a Require the
 * camera cannot honour gets 551 (RFC 2326 §12.32, §12.43); malformed packets
 * are dropped and counted, and the recording keeps the last 60 s.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dominantFrequency } from '@camgate/test-helpers';
import { audioFormat } from '../src/audio-track.js';
import { BackchannelRecorder } from '../src/backchannel.js';
import { g711Encode, startCameraSim, type CameraSim, type CameraSimOptions } from '../src/index.js';
import { runBounded } from './helpers/audio-sim.js';
import { RawRtspClient } from './helpers/rtsp-sim.js';

const ONVIF = 'www.onvif.org/ver20/backchannel';
const SCRIPT = new URL('./helpers/onvif-backchannel.py', import.meta.url).pathname;

async function sim(t: { after: (fn: () => Promise<void>) => void }, opts: CameraSimOptions): Promise<CameraSim> {
  const s = await startCameraSim({ width: 160, height: 120, ...opts });
  t.after(() => s.close());
  return s;
}

function rtp(pt: number, seq: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 0x80;
  h[1] = pt;
  h.writeUInt16BE(seq, 2);
  h.writeUInt32BE(seq * 160, 4);
  h.writeUInt32BE(0x1234, 8);
  return Buffer.concat([h, payload]);
}

function interleaved(channel: number, data: Buffer): Buffer {
  const h = Buffer.from([0x24, channel, 0, 0]);
  h.writeUInt16BE(data.length, 2);
  return Buffer.concat([h, data]);
}

describe('camera-sim ONVIF back channel', () => {
  describe('GStreamer rtspsrc backchannel=onvif sends a tone that the recording holds', () => {
    const cases = [
      { codec: 'PCMA', proto: 'tcp', hz: 600 },
      { codec: 'PCMU', proto: 'udp', hz: 900 },
      { codec: 'AAC', proto: 'tcp', hz: 750 },
    ] as const;
    for (const c of cases) {
      it(`${c.codec} over ${c.proto}: ${c.hz} Hz`, async (t) => {
        const s = await sim(t, { audio: { codec: 'PCMA' }, backchannel: { codec: c.codec } });
        const r = await runBounded('/usr/bin/python3', [SCRIPT, s.url, c.codec, String(c.hz), '2', c.proto], 90_000);
        assert.equal(r.code, 0, r.stderr);
        const sent = Number(/sent (\d+)/.exec(r.stdout.toString())?.[1]);
        assert.ok(sent > 0, r.stdout.toString());
        const rec = await s.backchannelRecording();
        assert.equal(rec.codec, c.codec);
        assert.equal(rec.sampleRate, c.codec === 'AAC' ? 16000 : 8000);
        assert.equal(rec.packets, s.stats.backchannelPackets);
        assert.ok(rec.packets >= sent * 0.9, `recorded ${rec.packets} of ${sent} packets`);
        assert.equal(s.stats.backchannelDropped, 0);
        assert.ok(rec.pcm.length >= rec.sampleRate, `${rec.pcm.length} samples for 2 s`);
        const f = dominantFrequency(rec.pcm, rec.sampleRate);
        assert.ok(Math.abs(f - c.hz) < 5, `dominant ${f.toFixed(1)} Hz, sent ${c.hz}`);
      });
    }
  });

  describe('RTSP', () => {
    it('answers a Require it cannot honour with 551 and Unsupported naming it (RFC 2326 §12.43)', async (t) => {
      const plain = await sim(t, {});
      const c = await RawRtspClient.connect(plain.port);
      t.after(() => c.close());
      const r = await c.request('DESCRIBE', plain.url, { Require: ONVIF });
      assert.equal(r.status, 551);
      assert.equal(r.headers.get('unsupported'), ONVIF);
      // With a back channel, only what it cannot do is named.
      const s = await sim(t, { backchannel: { codec: 'PCMU' } });
      const d = await RawRtspClient.connect(s.port);
      t.after(() => d.close());
      const r2 = await d.request('DESCRIBE', s.url, { Require: `${ONVIF}, play.scale` });
      assert.equal(r2.status, 551);
      assert.equal(r2.headers.get('unsupported'), 'play.scale');
    });

    it('describes the back channel (a=sendonly, own control) only to a client that requires it', async (t) => {
      const s = await sim(t, { audio: { codec: 'AAC' }, backchannel: { codec: 'PCMU' } });
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      const plain = await c.request('DESCRIBE', s.url);
      assert.equal(plain.status, 200);
      assert.equal(plain.body.match(/m=audio/g)?.length, 1);
      assert.doesNotMatch(plain.body, /sendonly|recvonly/);
      const onvif = await c.request('DESCRIBE', s.url, { Require: ONVIF });
      assert.equal(onvif.status, 200);
      // ONVIF §5.3.1: the camera's streams are recvonly, the back channel sendonly (the client's view).
      assert.match(onvif.body, /m=video[^]*a=recvonly\r\na=control:trackID=0\r\n/);
      assert.match(onvif.body, /m=audio 0 RTP\/AVP 97[^]*a=recvonly\r\na=control:trackID=1\r\n/);
      assert.match(
        onvif.body,
        /m=audio 0 RTP\/AVP 0\r\na=rtpmap:0 PCMU\/8000\r\na=sendonly\r\na=control:trackID=2\r\n$/,
      );
    });

    it('drops and counts malformed back-channel packets, keeps the good ones, and keeps serving', async (t) => {
      const s = await sim(t, { backchannel: { codec: 'PCMA' } });
      const c = await RawRtspClient.connect(s.port);
      t.after(() => c.close());
      await c.request('DESCRIBE', s.url, { Require: ONVIF });
      const setup = await c.request('SETUP', `${s.url}/trackID=2`, {
        Require: ONVIF,
        Transport: 'RTP/AVP/TCP;unicast;interleaved=4-5',
      });
      assert.equal(setup.status, 200);
      assert.match(setup.headers.get('transport')!, /interleaved=4-5/);
      const session = setup.headers.get('session')!.split(';')[0]!;
      const tone = g711Encode(
        'PCMA',
        Int16Array.from({ length: 160 }, (_, i) => Math.round(8000 * Math.sin(i))),
      );
      // Before PLAY the camera does not listen yet: dropped.
      c.send(interleaved(4, rtp(8, 1, tone)));
      await c.request('PLAY', `${s.url}/`, { Require: ONVIF, Session: session });
      const cc15 = rtp(8, 3, tone);
      cc15[0] = 0x8f; // 15 CSRCs announced, but the payload is shorter than their 60 bytes + 12: truncated header
      const bad = [
        Buffer.from('not rtp at all'),
        Buffer.alloc(11, 0x80), // shorter than an RTP header
        rtp(0, 2, tone), // PCMU, but the camera announced PCMA (8)
        Buffer.concat([Buffer.from([0x40, 8]), Buffer.alloc(170)]), // RTP version 1
        rtp(8, 4, Buffer.alloc(0)), // empty payload
        rtp(8, 5, Buffer.alloc(1600, 0xd5)), // larger than an MTU
        cc15.subarray(0, 40),
      ];
      for (const b of bad) c.send(interleaved(4, b));
      c.send(interleaved(5, Buffer.from('an RTCP receiver report is ignored, never parsed')));
      c.send(interleaved(4, rtp(8, 6, tone)));
      // The connection still answers requests in order, after every frame above was read.
      assert.equal((await c.request('GET_PARAMETER', s.url, { Session: session })).status, 200);
      assert.equal(s.stats.backchannelDropped, 1 + bad.length);
      assert.equal(s.stats.backchannelPackets, 1);
      const rec = await s.backchannelRecording();
      assert.equal(rec.pcm.length, 160);
      assert.equal(rec.packets, 1);
    });

    it('rejects backchannelRecording() on a camera without a back channel', async (t) => {
      const s = await sim(t, {});
      await assert.rejects(s.backchannelRecording(), { code: 'CAMGATE_CAMERA_SIM_NO_BACKCHANNEL' });
    });
  });

  describe('BackchannelRecorder', () => {
    it('keeps the last 60 s, oldest dropped first', async () => {
      const rec = new BackchannelRecorder(audioFormat('PCMA', 8000, 0), 60, undefined);
      // 61 s of 20 ms packets, packet n filled with one A-law octet that decodes to a value telling n apart.
      for (let n = 0; n < 3050; n++) assert.ok(rec.push(rtp(8, n & 0xffff, Buffer.alloc(160, n % 256))));
      const r = await rec.recording();
      assert.equal(r.pcm.length, 60 * 8000);
      assert.equal(r.packets, 3050);
      const last = g711Encode('PCMA', r.pcm.subarray(r.pcm.length - 1))[0];
      const first = g711Encode('PCMA', r.pcm.subarray(0, 1))[0];
      assert.equal(last, 3049 % 256);
      assert.equal(first, 50 % 256); // packets 0..49 (the first second) were dropped
    });

    it('takes RFC 3640 AAC-hbr payloads with several AUs and refuses inconsistent AU headers', () => {
      const rec = new BackchannelRecorder(audioFormat('AAC', 16000, 98), 60, undefined);
      const hbr = (sizes: number[], body: number): Buffer => {
        const h = Buffer.alloc(2 + sizes.length * 2);
        h.writeUInt16BE(sizes.length * 16, 0);
        sizes.forEach((n, i) => h.writeUInt16BE(n << 3, 2 + i * 2));
        return Buffer.concat([h, Buffer.alloc(body, 0x21)]);
      };
      assert.equal(rec.push(rtp(98, 1, hbr([10, 20], 30))), true);
      assert.equal(rec.push(rtp(98, 2, hbr([10, 20], 31))), false); // sizes do not add up
      assert.equal(rec.push(rtp(98, 3, hbr([40], 30))), false); // AU runs past the packet
      assert.equal(rec.push(rtp(98, 4, hbr([0], 0))), false); // empty AU
      assert.equal(rec.push(rtp(98, 5, Buffer.from([0x00, 0x0f, 0, 0]))), false); // headers length not 16-bit units
      assert.equal(rec.push(rtp(98, 6, Buffer.from([0x00, 0x00]))), false); // no AU headers
      assert.equal(rec.push(rtp(98, 7, Buffer.from([0x01, 0x00]))), false); // 16 headers announced, none there
      assert.equal(rec.packets, 1);
      assert.equal(rec.dropped, 6);
    });
  });
});
