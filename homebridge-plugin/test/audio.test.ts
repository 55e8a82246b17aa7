/**
 * Camera sound in Apple Home, against a real Homebridge running the plugin,
 * paired by hap-controller on loopback: a stream started with Opus 24 kHz
 * audio and the test's own SRTP keys delivers SRTP Opus that werift decrypts
 * and FFmpeg decodes to the simulated camera's tone, for 90 s; two-way
 * audio: SRTP Opus of a tone sent to the accessory's audio port reaches the
 * simulated camera's back channel; a camera without sound streams video alone
 * and nothing goes wrong.
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { startCameraSim, type CameraSimOptions } from '@camgate/camera-sim';
import { HttpClient } from 'hap-controller';
import { RtpHeader, RtpPacket, SrtcpSession, SrtpSession } from 'werift';
import { decodeOpus, encodeOpusTone, startSrtpReceiver, toneFrequency, waitUntil } from '@camgate/test-helpers';
import {
  parseSetupEndpointsResponse,
  selectedConfigTlv,
  setupEndpointsTlv,
  startHomebridge,
} from './helpers/homebridge.js';

const SVC_RTP_STREAM = '00000110-0000-1000-8000-0026BB765291';
const CH_SETUP_ENDPOINTS = '00000118-0000-1000-8000-0026BB765291';
const CH_SELECTED_CONFIG = '00000117-0000-1000-8000-0026BB765291';
const CH_SUPPORTED_AUDIO = '00000115-0000-1000-8000-0026BB765291';
const norm = (t: string): string =>
  (t.length <= 8 ? `${t.padStart(8, '0')}-0000-1000-8000-0026BB765291` : t).toUpperCase();

interface HapAccessory {
  aid: number;
  services: { type: string; characteristics: { iid: number; type: string; value?: unknown }[] }[];
}

const CAM = { username: 'admin', password: 'hb-audio-pass-5e7b', width: 160, height: 96, fps: 25 };

const srtpConfig = (k: Buffer) => ({
  profile: 1, // AES_CM_128_HMAC_SHA1_80
  keys: {
    localMasterKey: k.subarray(0, 16),
    localMasterSalt: k.subarray(16),
    remoteMasterKey: k.subarray(0, 16),
    remoteMasterSalt: k.subarray(16),
  },
});

/** The Apple device's audio port: SRTP and SRTCP on one UDP socket (RFC 5761), decrypted with werift. */
async function audioPort(t: TestContext) {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const datagrams: Buffer[] = [];
  socket.on('message', (m) => datagrams.push(m));
  return { socket, port: socket.address().port, datagrams };
}

const isRtcp = (m: Buffer): boolean => m[1]! >= 192 && m[1]! <= 223;

/**
 * A simulated camera (`sim` on top of CAM) as the plugin's one camera (`entry`), in a real Homebridge that
 * hap-controller pairs with; returns the camera, Homebridge, and the stream characteristics a controller uses.
 */
async function pairedCamera(
  t: TestContext,
  sim: Partial<CameraSimOptions>,
  entry: { id: string; name: string; talkBack?: boolean },
) {
  const cam = await startCameraSim({ ...CAM, ...sim });
  t.after(() => cam.close());
  const hb = await startHomebridge(t, 'homebridge', [
    {
      platform: 'Camgate',
      name: 'camgate',
      cameras: [{ ...entry, url: cam.url, username: CAM.username, password: CAM.password }],
      media: { interfaceAddress: '127.0.0.1' },
      audit: { enabled: false },
    },
  ]);
  await hb.waitForLine(new RegExp(`\\[${entry.name}\\] added`));
  const setupClient = new HttpClient(hb.username, '127.0.0.1', hb.port);
  await setupClient.pairSetup(hb.pin);
  const client = new HttpClient(hb.username, '127.0.0.1', hb.port, setupClient.getLongTermData()!, {
    usePersistentConnections: true,
  });
  t.after(() => client.close());
  const { accessories } = (await client.getAccessories()) as { accessories: HapAccessory[] };
  const camera = accessories.find((a) => a.services.some((s) => norm(s.type) === SVC_RTP_STREAM))!;
  const chars = camera.services.filter((s) => norm(s.type) === SVC_RTP_STREAM)[0]!.characteristics;
  const iid = (type: string) => `${camera.aid}.${chars.find((c) => norm(c.type) === type)!.iid}`;
  return {
    cam,
    hb,
    client,
    setup: iid(CH_SETUP_ENDPOINTS),
    selected: iid(CH_SELECTED_CONFIG),
    supportedAudio: iid(CH_SUPPORTED_AUDIO),
  };
}

/**
 * Starts a stream with sound as an Apple device does: its video port (an SRTP receiver) and audio port, its
 * own audio key, then the selected configuration with `audio`; waits for the plugin's `soundLine` and video.
 */
async function startSoundStream(
  t: TestContext,
  p: Awaited<ReturnType<typeof pairedCamera>>,
  audio: { sampleRate: 0 | 1 | 2; packetTimeMs: number; payloadType: number }, // HAP: 0 8 kHz, 1 16 kHz, 2 24 kHz
  soundLine: RegExp,
) {
  const videoKey = randomBytes(30);
  const ourAudioKey = randomBytes(30);
  const rx = await startSrtpReceiver(t, videoKey);
  const ear = await audioPort(t);
  const sessionId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
  await p.client.setCharacteristics({
    [p.setup]: setupEndpointsTlv({
      sessionId,
      address: '127.0.0.1',
      videoPort: rx.port,
      audioPort: ear.port,
      videoKey: videoKey.subarray(0, 16),
      videoSalt: videoKey.subarray(16),
      audioKey: ourAudioKey.subarray(0, 16),
      audioSalt: ourAudioKey.subarray(16),
    }),
  });
  const read = await p.client.getCharacteristics([p.setup]);
  const resp = parseSetupEndpointsResponse((read.characteristics as { value: string }[])[0]!.value);
  await p.client.setCharacteristics({
    [p.selected]: selectedConfigTlv({ sessionId, command: 1, payloadType: 99, mtu: 1000, audio }),
  });
  await p.hb.waitForLine(soundLine);
  await rx.waitForAccessUnits(3);
  return { ear, resp, ourAudioKey, sessionId };
}

describe('homebridge-camgate sound', () => {
  it(
    'streams the camera tone as SRTP Opus 24 kHz that FFmpeg decodes, and keeps it flowing for 90 s',
    { timeout: 240_000 },
    async (t) => {
      const door = await pairedCamera(t, { audio: { codec: 'AAC', toneHz: 1000 } }, { id: 'door', name: 'Door' });
      const { client, hb, selected, supportedAudio } = door;
      // The accessory advertises Opus (HAP AudioCodecType 3) and no AAC-ELD (2).
      const sup = await client.getCharacteristics([supportedAudio]);
      const tlv = Buffer.from((sup.characteristics as { value: string }[])[0]!.value, 'base64');
      assert.equal(tlv[0], 1); // AudioCodecConfiguration
      assert.equal(tlv[2], 1); // … its codec type entry
      assert.equal(tlv[4], 3, 'Opus');

      const { ear, resp, ourAudioKey, sessionId } = await startSoundStream(
        t,
        door,
        { sampleRate: 2, packetTimeMs: 20, payloadType: 110 }, // Opus 24 kHz, 20 ms
        /sound: Opus 24 kHz, 20 ms packets/,
      );
      assert.equal(resp.status, 0);
      assert.notEqual(resp.audioPort, resp.videoPort, 'audio on its own port');
      assert.equal(resp.audioKeyAndSalt.length, 30);

      // What arrives decrypts with the key the accessory announced for its audio (SRTP and SRTCP).
      const srtp = new SrtpSession(srtpConfig(resp.audioKeyAndSalt));
      const srtcp = new SrtcpSession(srtpConfig(resp.audioKeyAndSalt));
      const packets: RtpPacket[] = [];
      let reports = 0;
      let read0 = 0;
      const drain = (): void => {
        for (; read0 < ear.datagrams.length; read0++) {
          const m = ear.datagrams[read0]!;
          if (isRtcp(m)) {
            assert.equal(srtcp.decrypt(m)[1], 200, 'a sender report');
            reports++;
          } else packets.push(RtpPacket.deSerialize(srtp.decrypt(m)));
        }
      };
      await waitUntil(
        () => {
          drain();
          return packets.length >= 150;
        },
        '3 s of audio',
        60_000,
      );
      assert.ok(packets.every((p) => p.header.payloadType === 110 && p.header.ssrc === resp.audioSsrc));
      const steps = packets.slice(1, 50).map((p, i) => (p.header.timestamp - packets[i]!.header.timestamp) >>> 0);
      assert.ok(steps.filter((s) => s === 480).length >= 40, `20 ms at 24 kHz = 480 ticks: ${steps.join(',')}`);
      const pcm = await decodeOpus(
        packets.map((p) => p.payload),
        24_000,
      );
      assert.ok(Math.abs(toneFrequency(pcm, 24_000) - 1000) <= 20, 'the camera tone, 1 kHz');

      // A use-length stream: every 10 s window for 90 s brings more audio and the reports continue.
      const started = packets.length;
      for (let w = 0; w < 9; w++) {
        const before = packets.length;
        await new Promise((r) => setTimeout(r, 10_000));
        drain();
        assert.ok(packets.length > before, `audio still flowing in window ${w + 1}`);
      }
      assert.ok(packets.length - started > 500, `${packets.length - started} packets in 90 s`);
      assert.ok(reports >= 10, `${reports} sender reports`);
      const tail = await decodeOpus(
        packets.slice(-100).map((p) => p.payload),
        24_000,
      );
      assert.ok(Math.abs(toneFrequency(tail, 24_000) - 1000) <= 20, 'still the tone after 90 s');

      await client.setCharacteristics({ [selected]: selectedConfigTlv({ sessionId, command: 0 }) });
      await hb.waitForLine(/stream .* stopped/);
      assert.ok(!hb.lines.join('\n').includes(CAM.password));
      assert.ok(!hb.lines.join('\n').includes(ourAudioKey.toString('base64')));
    },
  );

  it(
    "talks back: SRTP Opus sent to the accessory's audio port reaches the camera's back channel",
    { timeout: 180_000 },
    async (t) => {
      const gate = await pairedCamera(
        t,
        { audio: { codec: 'PCMA', toneHz: 1000 }, backchannel: { codec: 'PCMA' } },
        { id: 'gate', name: 'Gate', talkBack: true },
      );
      const { cam, hb } = gate;
      const { ear, resp, ourAudioKey } = await startSoundStream(
        t,
        gate,
        { sampleRate: 1, packetTimeMs: 20, payloadType: 110 }, // Opus 16 kHz
        /sound: Opus 16 kHz, 20 ms packets, talk-back on/,
      );

      // The user's voice as the Apple device sends it: Opus at 16 kHz RTP clock, SRTP with the controller's
      // audio key, from the address the stream goes to, paced at 20 ms.
      const voice = await encodeOpusTone({ hz: 500, seconds: 4 });
      const tx = new SrtpSession(srtpConfig(ourAudioKey));
      const ssrc = 0x5678; // the SSRC our selected configuration named
      for (let i = 0; i < voice.length; i++) {
        const p = new RtpPacket(
          new RtpHeader({
            payloadType: 110,
            sequenceNumber: i,
            timestamp: i * 320, // 20 ms at 16 kHz
            ssrc,
            marker: i === 0,
          }),
          voice[i]!.payload,
        );
        ear.socket.send(tx.encrypt(p.payload, p.header), resp.audioPort, '127.0.0.1');
        await new Promise((r) => setTimeout(r, 20));
      }
      let heard: Awaited<ReturnType<typeof cam.backchannelRecording>> | undefined;
      await waitUntil(
        async () => {
          heard = await cam.backchannelRecording();
          return heard.pcm.length >= heard.sampleRate * 2;
        },
        "2 s of voice at the camera's speaker",
        60_000,
      );
      assert.equal(heard!.codec, 'PCMA');
      assert.ok(Math.abs(toneFrequency(heard!.pcm, heard!.sampleRate) - 500) <= 20, 'the talker tone, 500 Hz');
      await hb.waitForLine(/talking to the camera/);
      assert.ok(!hb.lines.join('\n').includes(ourAudioKey.toString('base64')));
    },
  );

  it('a camera without sound streams video alone, with no error', { timeout: 120_000 }, async (t) => {
    const { client, hb, setup, selected } = await pairedCamera(t, {}, { id: 'shed', name: 'Shed' });
    const key = randomBytes(30);
    const rx = await startSrtpReceiver(t, key);
    const ear = await audioPort(t);
    const sessionId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
    await client.setCharacteristics({
      [setup]: setupEndpointsTlv({
        sessionId,
        address: '127.0.0.1',
        videoPort: rx.port,
        audioPort: ear.port,
        videoKey: key.subarray(0, 16),
        videoSalt: key.subarray(16),
      }),
    });
    await client.setCharacteristics({
      [selected]: selectedConfigTlv({
        sessionId,
        command: 1,
        payloadType: 99,
        mtu: 1000,
        audio: { sampleRate: 2, packetTimeMs: 20 },
      }),
    });
    await rx.waitForAccessUnits(25);
    assert.equal(rx.rejected, 0);
    assert.equal(ear.datagrams.length, 0, 'no sound to send');
    assert.ok(!hb.lines.some((l) => /error/i.test(l) && /Shed|camgate/.test(l)), hb.lines.join('\n'));
  });
});
