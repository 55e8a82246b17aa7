/**
 * RtpEndpoint sound negotiation, driven by the official kurento-client: the
 * offer's Opus section, a HomeKit-style answer (Opus 24 kHz, sendrecv, its
 * own audio port), an offer with audio answered, and a camera without sound
 * streaming video alone without an error. The talk relay's lock handling.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { describe, it, type TestContext } from 'node:test';
import kurentoClient from 'kurento-client';
import { startCameraSim } from '@camgate/camera-sim';
import { RtpHeader, RtpPacket, SrtpSession } from 'werift';
import {
  decodeOpus,
  encodeOpusTone,
  receiverSdp,
  startSrtpReceiver,
  toneFrequency,
  waitUntil,
} from '@camgate/test-helpers';
import { TalkRelay } from '../../src/engine/elements/talk-relay.js';
import type { RtspSourceHandleLike, TalkSessionLike } from '../../src/engine/media-plane.js';
import { KurentoClient } from '../../src/kurento/index.js';
import { CamgateError, createLogger } from '../../src/util/index.js';
import { cameraPipeline } from '../helpers/camera-pipeline.js';
import { connectClient, startEngine, type Kc } from '../helpers/engine.js';

const CAM = { username: 'admin', password: 'rtp-audio-pass-1c2d', width: 160, height: 96, fps: 25 };
const Sdes = kurentoClient.getComplexType('SDES') as new (d: Record<string, string>) => object;

/** An RtpEndpoint whose SRTP master key and salt are `key` (SDES, RFC 4568). */
const sdesRtpEndpoint = (pipeline: Kc, key: Buffer): Promise<Kc> =>
  pipeline.create('RtpEndpoint', {
    crypto: new Sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80', keyBase64: key.toString('base64') }),
  });

const srtpConfig = (key: Buffer) => ({
  profile: 1, // AES_CM_128_HMAC_SHA1_80
  keys: {
    localMasterKey: key.subarray(0, 16),
    localMasterSalt: key.subarray(16),
    remoteMasterKey: key.subarray(0, 16),
    remoteMasterSalt: key.subarray(16),
  },
});

/** `receiverSdp` plus the audio section a HomeKit controller's answer has. */
function withAudio(video: string, audioPort: number, key: Buffer, direction = 'sendrecv'): string {
  return (
    video +
    [
      `m=audio ${audioPort} RTP/SAVP 110`,
      'a=rtpmap:110 opus/24000',
      'a=ptime:20',
      `a=${direction}`,
      `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key.toString('base64')}`,
      '',
    ].join('\r\n')
  );
}

async function udp(t: TestContext): Promise<{ port: number; received: Buffer[] }> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
  const received: Buffer[] = [];
  s.on('message', (m) => received.push(m));
  return { port: s.address().port, received };
}

describe('RtpEndpoint (sound)', () => {
  it(
    'offers Opus beside H.264, takes a 24 kHz sendrecv answer; a camera without sound streams video alone',
    { timeout: 60_000 },
    async (t) => {
      const { cam, logs, pipeline } = await cameraPipeline(t, CAM);
      const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
      const key = randomBytes(30);
      const rtp = await sdesRtpEndpoint(pipeline, key);
      const offer: string = await rtp.generateOffer();
      const video = /^m=video (\d+) /m.exec(offer)!;
      const audio = /^m=audio (\d+) RTP\/SAVP 111\r$/m.exec(offer);
      assert.ok(audio, 'an Opus audio section');
      assert.notEqual(audio[1], video[1], 'on its own port');
      assert.match(offer, /^a=rtpmap:111 opus\/48000\/2\r$/m); // RFC 7587 §7
      assert.match(offer, /^a=rtcp-mux\r$/m);
      const ssrcs = [...offer.matchAll(/^a=ssrc:(\d+) /gm)].map((m) => m[1]);
      assert.equal(new Set(ssrcs).size, 2, 'video and audio have their own SSRCs');
      assert.equal([...offer.matchAll(/^a=crypto:/gm)].length, 2);

      const rx = await startSrtpReceiver(t, key);
      const ear = await udp(t);
      await player.connect(rtp);
      await player.play();
      await rtp.processAnswer(withAudio(receiverSdp(rx.port, { key }), ear.port, key));
      await rx.waitForAccessUnits(10);
      assert.equal(rx.rejected, 0);
      assert.equal(ear.received.length, 0, 'this camera has no sound: nothing on the audio port');
      assert.ok(!logs.records.some((r) => r.level === 'error'), 'and no error');
    },
  );

  for (const codec of ['AAC', 'PCMA'] as const) {
    it(`sends a ${codec} camera's tone as SRTP Opus at HomeKit's 24 kHz clock`, { timeout: 90_000 }, async (t) => {
      const { cam, pipeline } = await cameraPipeline(t, { ...CAM, audio: { codec, toneHz: 1000 } });
      const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
      const key = randomBytes(30);
      const rtp = await sdesRtpEndpoint(pipeline, key);
      const offer: string = await rtp.generateOffer();
      const audioSsrc = Number([...offer.matchAll(/^a=ssrc:(\d+) /gm)][1]![1]);
      const rx = await startSrtpReceiver(t, key);
      const ear = await udp(t);
      await player.connect(rtp);
      await player.play();
      await rtp.processAnswer(withAudio(receiverSdp(rx.port, { key }), ear.port, key, 'recvonly'));
      // 2 s of sound: 100 packets of 20 ms.
      await waitUntil(() => ear.received.length >= 100, 'audio packets', 60_000);
      const srtp = new SrtpSession(srtpConfig(key));
      const packets = ear.received
        .filter((m) => m[1]! < 192 || m[1]! > 223)
        .map((m) => RtpPacket.deSerialize(srtp.decrypt(m)));
      assert.ok(packets.every((p) => p.header.ssrc === audioSsrc && p.header.payloadType === 110));
      const steps = packets.slice(1, 40).map((p, i) => (p.header.timestamp - packets[i]!.header.timestamp) >>> 0);
      assert.ok(steps.filter((s) => s === 480).length >= 30, `20 ms at 24 kHz is 480 ticks: ${steps.join(',')}`);
      const pcm = await decodeOpus(
        packets.map((p) => p.payload),
        24_000,
      );
      assert.ok(Math.abs(toneFrequency(pcm, 24_000) - 1000) <= 20, 'the camera tone');
      await rx.waitForAccessUnits(3);
    });
  }

  it(
    "takes HomeKit's voice to the camera's speaker only on an endpoint created with talkBack",
    { timeout: 90_000 },
    async (t) => {
      const cam = await startCameraSim({ ...CAM, backchannel: { codec: 'PCMA' } });
      t.after(() => cam.close());
      const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
      // camgate's own Kurento client, as the Homebridge plugin uses: kurento-client drops constructor
      // parameters its schema does not know, and talkBack is the engine's own.
      const client = await KurentoClient.connect(engine.url);
      t.after(() => client.close());
      const voice = await encodeOpusTone({ hz: 500, seconds: 1.5 });
      const speak = async (talkBack: boolean): Promise<number> => {
        const pipeline = await client.create('MediaPipeline');
        const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: cam.urlWithCredentials });
        const key = randomBytes(30);
        const rtp = await client.create('RtpEndpoint', {
          mediaPipeline: pipeline,
          crypto: {
            __module__: 'kurento',
            __type__: 'SDES',
            crypto: 'AES_128_CM_HMAC_SHA1_80',
            keyBase64: key.toString('base64'),
          },
          ...(talkBack ? { talkBack: true } : {}),
        });
        const offer = String(await client.invoke(rtp, 'generateOffer', {}));
        const enginePort = Number(/^m=audio (\d+) /m.exec(offer)![1]);
        const rx = await startSrtpReceiver(t, key);
        const s = dgram.createSocket('udp4');
        await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
        t.after(() => new Promise<void>((resolve) => s.close(() => resolve())));
        await client.invoke(rtp, 'processAnswer', {
          answer: withAudio(receiverSdp(rx.port, { key }), s.address().port, key, 'sendrecv'),
        });
        await client.invoke(player, 'connect', { sink: rtp });
        await client.invoke(player, 'play', {});
        await rx.waitForAccessUnits(3);
        const tx = new SrtpSession(srtpConfig(key));
        const before = (await cam.backchannelRecording()).packets;
        for (let i = 0; i < voice.length; i++) {
          const p = new RtpPacket(
            new RtpHeader({ payloadType: 110, sequenceNumber: i, timestamp: i * 480, ssrc: 99, marker: i === 0 }),
            voice[i]!.payload,
          );
          s.send(tx.encrypt(p.payload, p.header), enginePort, '127.0.0.1');
          await new Promise((r) => setTimeout(r, 20));
        }
        if (talkBack) {
          await waitUntil(
            async () => (await cam.backchannelRecording()).packets > before + 20,
            'voice at the camera',
            30_000,
          );
        } else {
          await new Promise((r) => setTimeout(r, 2000)); // the talk-back pipeline would have delivered by now
        }
        const heard = (await cam.backchannelRecording()).packets - before;
        await client.release(pipeline);
        return heard;
      };
      assert.equal(await speak(false), 0, 'no talkBack parameter: the voice is dropped');
      assert.ok((await speak(true)) > 20, 'talkBack: the voice reaches the camera');
      const rec = await cam.backchannelRecording();
      assert.ok(Math.abs(toneFrequency(rec.pcm, rec.sampleRate) - 500) <= 20);
    },
  );

  it('answers an offer with audio on its own port and the offered Opus clock', { timeout: 30_000 }, async (t) => {
    const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const client = await connectClient(t, engine.url);
    const pipeline = await client.create('MediaPipeline');
    const key = randomBytes(30);
    const rtp = await sdesRtpEndpoint(pipeline, key);
    const answer: string = await rtp.processOffer(withAudio(receiverSdp(40_000, { key }), 40_002, key, 'recvonly'));
    assert.match(answer, /^m=audio \d+ RTP\/SAVP 110\r$/m);
    assert.match(answer, /^a=rtpmap:110 opus\/24000\/2\r$/m);
    // An offer whose audio is another codec: video alone, no failure.
    const other = await sdesRtpEndpoint(pipeline, key);
    const pcmu = receiverSdp(40_010, { key }) + 'm=audio 40012 RTP/SAVP 0\r\na=rtpmap:0 PCMU/8000\r\n';
    const a2: string = await other.processOffer(pcmu);
    assert.match(a2, /^m=video /m);
    assert.doesNotMatch(a2, /^m=audio /m);
  });
});

/** A camera's talk lock as engine/media/talkback.ts keeps it: one talker, CAMGATE_ENGINE_TALK_BUSY for others. */
function lockingSource() {
  let holder: string | undefined;
  const pushed: { who: string; ts: number }[] = [];
  const handle = Object.assign(new EventEmitter(), {
    state: 'playing',
    subscribe: () => () => {},
    release: () => {},
    openTalk(who: string): TalkSessionLike {
      if (holder !== undefined) throw new CamgateError('CAMGATE_ENGINE_TALK_BUSY', 'someone else is talking');
      holder = who;
      return {
        pushOpus: (_p, ts) => pushed.push({ who, ts }),
        close: () => {
          if (holder === who) holder = undefined;
        },
      };
    },
  }) as unknown as RtspSourceHandleLike;
  return { handle, pushed, holder: () => holder };
}

describe('TalkRelay', () => {
  it('takes the lock on voice, gives it back after silence, drops voice while another talks', async () => {
    const src = lockingSource();
    const lines: string[] = [];
    const log = createLogger('t', (r) => lines.push(`${r.level} ${r.msg}`));
    const a = new TalkRelay(src.handle, 'homekit-a', log, { idleMs: 100, busyRetryMs: 50 });
    const b = new TalkRelay(src.handle, 'homekit-b', log, { idleMs: 100, busyRetryMs: 50 });
    a.push(Buffer.from([0x78]), 960);
    assert.equal(src.holder(), 'homekit-a');
    for (let i = 0; i < 10; i++) b.push(Buffer.from([0x78]), i * 960);
    assert.equal(lines.filter((l) => l.includes('someone else')).length, 1, 'logged once, not per packet');
    assert.deepEqual(src.pushed, [{ who: 'homekit-a', ts: 960 }]);
    await new Promise((r) => setTimeout(r, 250)); // past a's silence and b's retry delay
    assert.equal(src.holder(), undefined);
    b.push(Buffer.from([0x78]), 1920);
    assert.equal(src.holder(), 'homekit-b');
    b.close();
    b.close();
    assert.equal(src.holder(), undefined);
    b.push(Buffer.from([0x78]), 2880);
    assert.equal(src.holder(), undefined, 'closed relays take no voice');
    a.close();
  });

  it('stops trying, after one warning, when the camera has no speaker', () => {
    let asked = 0;
    const handle = Object.assign(new EventEmitter(), {
      state: 'playing',
      subscribe: () => () => {},
      release: () => {},
      openTalk(): TalkSessionLike {
        asked++;
        throw new CamgateError('CAMGATE_ENGINE_NO_BACKCHANNEL', 'this camera has no back channel');
      },
    }) as unknown as RtspSourceHandleLike;
    const lines: string[] = [];
    const relay = new TalkRelay(
      handle,
      'homekit',
      createLogger('t', (r) => lines.push(r.msg)),
    );
    for (let i = 0; i < 50; i++) relay.push(Buffer.from([0x78]), i * 960);
    assert.equal(asked, 1);
    assert.deepEqual(lines, ['this camera has no speaker (no ONVIF back channel); voice dropped']);
    relay.close();
  });
});
