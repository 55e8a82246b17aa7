/**
 * RtpEndpoint with SDES-SRTP, driven by the official kurento-client: a
 * simulated camera → PlayerEndpoint → RtpEndpoint → a loopback UDP receiver
 * that decrypts with werift's independent SRTP implementation.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import kurentoClient from 'kurento-client';
import { NAL_TYPE, nalType } from '../../src/rtsp/index.js';
import { startCameraSim } from '@camgate/camera-sim';
import { RawClient, connectClient, startEngine } from '../helpers/engine.js';
import { receiverSdp, startSrtpReceiver } from '@camgate/test-helpers';

const CAM = { username: 'admin', password: 'rtp-cam-pass-7f1a', width: 160, height: 96, fps: 25 };

/** kurento-client checks complex types itself: an SDES must be built with its class. */
const Sdes = kurentoClient.getComplexType('SDES') as new (d: Record<string, string>) => object;

async function setup(t: TestContext) {
  const cam = await startCameraSim(CAM);
  t.after(() => cam.close());
  const { engine, logs } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
  const client = await connectClient(t, engine.url);
  const pipeline = await client.create('MediaPipeline');
  const player = await pipeline.create('PlayerEndpoint', { uri: cam.urlWithCredentials });
  return { cam, engine, logs, client, pipeline, player };
}

describe('RtpEndpoint (SDES-SRTP)', () => {
  it(
    'answers an RTP/SAVP offer and sends SRTP that decrypts to the camera H.264, SPS/PPS/IDR first; release stops it',
    { timeout: 30_000 },
    async (t) => {
      const { engine, logs, pipeline, player } = await setup(t);
      const key = randomBytes(30);
      const rx = await startSrtpReceiver(t, key);
      const rtp = await pipeline.create('RtpEndpoint', {
        crypto: new Sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80', keyBase64: key.toString('base64') }),
      });
      await rtp.setMtu(900);
      assert.equal(await rtp.getMtu(), 900);
      await player.connect(rtp);
      await player.play();
      const answer: string = await rtp.processOffer(receiverSdp(rx.port, { payloadType: 99 }));
      // RFC 3264 §6: the answer keeps the offered payload type; RFC 4568 §9.1: RTP/SAVP with a=crypto.
      assert.match(answer, /^m=video \d+ RTP\/SAVP 99\r$/m);
      assert.match(answer, /^a=rtpmap:99 H264\/90000\r$/m);
      assert.match(answer, /^a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:/m);
      assert.match(answer, /^c=IN IP4 127\.0\.0\.1\r$/m);
      const ssrc = Number(/^a=ssrc:(\d+) /m.exec(answer)![1]);
      assert.equal(await rtp.getConnectionState(), 'CONNECTED');

      const aus = await rx.waitForAccessUnits(10);
      assert.equal(rx.rejected, 0);
      const first = aus[0]!;
      assert.deepEqual(first.nalus.slice(0, 2).map(nalType), [NAL_TYPE.SPS, NAL_TYPE.PPS]);
      assert.ok(first.nalus.some((n) => nalType(n) === NAL_TYPE.IDR));
      for (const p of rx.packets) {
        assert.equal(p.header.payloadType, 99);
        assert.equal(p.header.ssrc, ssrc);
        assert.ok(p.wireBytes <= 900, `packet of ${p.wireBytes} bytes exceeds the MTU`);
      }
      // The IDR does not fit 900 bytes: FU-A fragments were reassembled.
      assert.ok(rx.packets.length > aus.length);

      await rtp.release();
      await rx.waitForSilence(300);
      const count = rx.packets.length;
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rx.packets.length, count);
      assert.equal(engine.stats().objects, 2); // pipeline and player remain
      assert.ok(!JSON.stringify(logs.records).includes(CAM.password));
    },
  );

  it('generateOffer then processAnswer uses the answer payload type and address', { timeout: 30_000 }, async (t) => {
    const { pipeline, player } = await setup(t);
    const key = randomBytes(30);
    const rx = await startSrtpReceiver(t, key);
    // Kurento SDES.key: the 30 bytes as a plain string.
    const rtp = await pipeline.create('RtpEndpoint', {
      crypto: new Sdes({ crypto: 'AES_128_CM_HMAC_SHA1_80', key: key.toString('latin1') }),
    });
    const offer: string = await rtp.generateOffer();
    assert.match(offer, /^m=video \d+ RTP\/SAVP 96\r$/m);
    assert.match(offer, /^a=sendonly\r$/m);
    await player.connect(rtp);
    await player.play();
    await rtp.processAnswer(receiverSdp(rx.port, { payloadType: 97 }));
    await rx.waitForAccessUnits(3);
    assert.equal(rx.rejected, 0);
    assert.ok(rx.packets.every((p) => p.header.payloadType === 97));
  });

  it('sends plain RTP/AVP when created without crypto', { timeout: 30_000 }, async (t) => {
    const { pipeline, player } = await setup(t);
    const rx = await startSrtpReceiver(t, undefined);
    const rtp = await pipeline.create('RtpEndpoint');
    await player.connect(rtp);
    await player.play();
    const answer: string = await rtp.processOffer(receiverSdp(rx.port, { secure: false }));
    assert.match(answer, /RTP\/AVP 99/);
    assert.doesNotMatch(answer, /a=crypto/);
    const [au] = await rx.waitForAccessUnits(1);
    assert.ok(au!.keyframe);
  });

  it('refuses bad keys, unsupported suites, mismatched profiles, hostile and malformed SDP', async (t) => {
    const { engine } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
    const c = await RawClient.open(t, engine.url);
    const pipeline = String((await c.ok('create', { type: 'MediaPipeline' })).value);
    const key = randomBytes(30).toString('base64');
    const create = (crypto: unknown) =>
      c.call('create', { type: 'RtpEndpoint', constructorParams: { mediaPipeline: pipeline, crypto } });
    const sdes = (d: Record<string, unknown>) => ({ __module__: 'kurento', __type__: 'SDES', ...d });
    let f = await create(sdes({ crypto: 'AES_256_CM_HMAC_SHA1_80', keyBase64: key }));
    assert.equal(f.error?.code, 40111);
    assert.match(f.error!.message, /implements AES_128_CM_HMAC_SHA1_80/);
    f = await create(sdes({ crypto: 'ROT13', keyBase64: key }));
    assert.equal(f.error?.code, 40001);
    f = await create(sdes({ keyBase64: '!!!notbase64!!!' }));
    assert.equal(f.error?.code, 40107);
    assert.ok(!f.error!.message.includes('notbase64'));
    f = await create(sdes({ keyBase64: 'c2hvcnQ=' })); // 5 bytes
    assert.equal(f.error?.code, 40107);
    f = await create('key');
    assert.equal(f.error?.code, 40001);

    const offers: [string, RegExp][] = [
      ['garbage', /not SDP/],
      [receiverSdp(5004, { secure: false }), /RTP\/SAVP expected/],
      [receiverSdp(5004).replace('c=IN IP4 127.0.0.1', 'c=IN IP4 224.0.0.251'), /not a unicast/],
      [receiverSdp(5004).replace('c=IN IP4 127.0.0.1', 'c=IN IP4 camera.example'), /c=/],
      [receiverSdp(5004).replace('c=IN IP4 127.0.0.1', 'c=IN IP4 255.255.255.255'), /not a unicast/],
      [receiverSdp(5004).replace('c=IN IP4 127.0.0.1', 'c=IN IP6 127.0.0.1'), /IP literal/],
      [receiverSdp(0), /port must be 1..65535/],
      [receiverSdp(5004).replace('a=recvonly', 'a=sendonly'), /only sends video/],
      [receiverSdp(5004).replace(/H264/g, 'VP8'), /H\.264/],
      [receiverSdp(5004).replace('m=video', 'm=audio'), /no m=video/],
      [receiverSdp(5004) + 'a=x:' + 'y'.repeat(70_000), /./],
    ];
    for (const [offer, why] of offers) {
      const ep = String((await create(sdes({ keyBase64: key }))).result?.value);
      f = await c.call('invoke', { object: ep, operation: 'processOffer', operationParams: { offer } });
      assert.ok([40001, 40107, 40205].includes(f.error?.code ?? 0), `offer rejected: ${JSON.stringify(f.error)}`);
      assert.match(f.error!.message, why);
      assert.ok(!f.error!.message.includes(key));
      await c.ok('release', { object: ep });
    }
    const ep = String((await create(sdes({ keyBase64: key }))).result?.value);
    f = await c.call('invoke', {
      object: ep,
      operation: 'processAnswer',
      operationParams: { answer: receiverSdp(5004) },
    });
    assert.equal(f.error?.code, 40209);
    f = await c.call('invoke', { object: ep, operation: 'setMtu', operationParams: { mtu: 40 } });
    assert.equal(f.error?.code, 40107);
    assert.equal(engine.stats().objects, 2); // the pipeline and the last endpoint
  });
});
