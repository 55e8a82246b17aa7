/**
 * A HomeKit-only user (no hub, no MQTT) in a real Homebridge 2, paired by hap-controller: the plugin keeps
 * its camera pulled before anyone watches, tile snapshots are decoded from the engine's cached keyframe
 * (no new RTSP session at the camera, no password on any FFmpeg command line), and a stream's first
 * picture comes from the engine's cache. With keepWarm off, a snapshot falls back to a new RTSP session and
 * the log says so. Times are printed for the record, never asserted (shared, loaded machines).
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { describe, it, type TestContext } from 'node:test';
import { startCameraSim } from '@camgate/core';
import { HttpClient } from 'hap-controller';
import { startSrtpReceiver } from '../../gateway-core/test/helpers/srtp-receiver.js';
import {
  ffmpegRecorder,
  parseSetupEndpointsResponse,
  selectedConfigTlv,
  setupEndpointsTlv,
  startHomebridge,
  type RunningHomebridge,
} from './helpers/homebridge.js';

const SVC_RTP_STREAM = '00000110-0000-1000-8000-0026BB765291';
const CH_SETUP_ENDPOINTS = '00000118-0000-1000-8000-0026BB765291';
const CH_SELECTED_CONFIG = '00000117-0000-1000-8000-0026BB765291';
const CAMERA_CATEGORY_SERVICE = SVC_RTP_STREAM;

interface HapAccessory {
  aid: number;
  services: { iid: number; type: string; characteristics: { iid: number; type: string }[] }[];
}

const norm = (t: string): string =>
  (t.length <= 8 ? `${t.padStart(8, '0')}-0000-1000-8000-0026BB765291` : t).toUpperCase();

function find(acc: HapAccessory, svc: string, ch: string): string {
  const c = acc.services
    .filter((x) => norm(x.type) === svc)
    .flatMap((x) => x.characteristics)
    .find((x) => norm(x.type) === ch);
  if (!c) throw new Error(`no ${ch} in ${svc}`);
  return `${acc.aid}.${c.iid}`;
}

const PASSWORD = 'hb-warm-pass-5d1e';
const CAM = { username: 'admin', password: PASSWORD, width: 160, height: 96, fps: 25 };

async function pair(t: TestContext, hb: RunningHomebridge): Promise<{ client: HttpClient; camera: HapAccessory }> {
  const setup = new HttpClient(hb.username, '127.0.0.1', hb.port);
  await setup.pairSetup(hb.pin);
  // One persistent connection, as the Home app keeps: a stream session ends with the connection that set it up.
  const client = new HttpClient(hb.username, '127.0.0.1', hb.port, setup.getLongTermData()!, {
    usePersistentConnections: true,
    subscriptionsUseSameConnection: true,
  });
  t.after(() => client.close());
  const { accessories } = (await client.getAccessories()) as { accessories: HapAccessory[] };
  const camera = accessories.find((a) => a.services.some((s) => norm(s.type) === CAMERA_CATEGORY_SERVICE));
  assert.ok(camera, 'the camera accessory');
  return { client, camera };
}

const isJpeg = (b: Buffer): boolean => b.length > 100 && b[0] === 0xff && b[1] === 0xd8;

describe('homebridge-camgate without a hub: keep-warm and snapshots from the stream', () => {
  it(
    'pulls the camera before any stream; N snapshots open no RTSP session and show no password; the first frame is cached',
    { timeout: 180_000 },
    async (t) => {
      // One IDR in ten minutes: a stream whose first picture is a keyframe got it from the engine's cache.
      const cam = await startCameraSim({ ...CAM, gopSeconds: 600 });
      t.after(() => cam.close());
      const ff = await ffmpegRecorder(t);
      const hb = await startHomebridge(
        t,
        'homebridge',
        [
          {
            platform: 'Camgate',
            name: 'camgate',
            cameras: [{ id: 'porch', name: 'Porch', url: cam.url, username: CAM.username, password: PASSWORD }],
            media: { interfaceAddress: '127.0.0.1' },
            // Every snapshot decodes anew, so each one is a test of the decode path, not of the JPEG cache.
            snapshotCacheSeconds: 0,
            audit: false,
          },
        ],
        undefined,
        { PATH: `${ff.dir}:${process.env.PATH ?? ''}` },
      );
      await hb.waitForLine(/\[Porch\] added; snapshots from FFmpeg decoding the engine's cached keyframe/);
      await hb.waitForLine(/\[Porch\] camera live/);
      // Pulled with no hub and before any stream or snapshot was asked for.
      assert.equal(cam.stats.sessions, 1);
      assert.equal(cam.stats.playing, 1);

      const { client, camera } = await pair(t, hb);
      const N = 5;
      const times: number[] = [];
      for (let i = 0; i < N; i++) {
        const started = performance.now();
        const jpeg = await client.getImage(640, 360, camera.aid);
        times.push(performance.now() - started);
        assert.ok(isJpeg(jpeg), `snapshot ${i} is a JPEG`);
      }
      assert.equal(cam.stats.sessions, 1, 'no RTSP session per snapshot');
      // The plugin's one `ffmpeg -version` at start (is FFmpeg installed?) aside.
      const runs = (await ff.invocations()).filter((argv) => argv.join(' ') !== '-version');
      assert.equal(runs.length, N, 'one FFmpeg decode per snapshot (cache TTL 0)');
      for (const argv of runs) {
        assert.ok(!argv.some((a) => a.includes(PASSWORD)), `no password in ${argv.join(' ')}`);
        assert.ok(!argv.some((a) => /rtsp/i.test(a)), 'no camera URL at all');
        assert.deepEqual(argv.slice(argv.indexOf('-i'), argv.indexOf('-i') + 2), ['-i', 'pipe:0']);
      }
      // The plugin's own debug line times the decode alone (FFmpeg start included), without HAP's round trip.
      const decodes = hb.lines.flatMap(
        (l) => /snapshot decoded from the cached keyframe in (\d+) ms/.exec(l)?.[1] ?? [],
      );
      assert.equal(decodes.length, N);
      console.log(
        `snapshot from a warm camera: ${times.map((ms) => Math.round(ms)).join(', ')} ms over HAP; FFmpeg decode alone ${decodes.join(', ')} ms`,
      );

      // A stream: its first picture is the cached keyframe (the camera encoded no second IDR meanwhile).
      const key = randomBytes(16);
      const salt = randomBytes(14);
      const rx = await startSrtpReceiver(t, Buffer.concat([key, salt]));
      const sessionId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
      const setup = find(camera, SVC_RTP_STREAM, CH_SETUP_ENDPOINTS);
      const selected = find(camera, SVC_RTP_STREAM, CH_SELECTED_CONFIG);
      await client.setCharacteristics({
        [setup]: setupEndpointsTlv({
          sessionId,
          address: '127.0.0.1',
          videoPort: rx.port,
          audioPort: rx.port,
          videoKey: key,
          videoSalt: salt,
        }),
      });
      const read = await client.getCharacteristics([setup]);
      assert.equal(parseSetupEndpointsResponse((read.characteristics as { value: string }[])[0]!.value).status, 0);
      const started = performance.now();
      await client.setCharacteristics({
        [selected]: selectedConfigTlv({ sessionId, command: 1, payloadType: 99, mtu: 1000 }),
      });
      const [first] = await rx.waitForAccessUnits(1);
      const ttff = performance.now() - started;
      assert.ok(first!.keyframe, 'the first picture is a keyframe');
      assert.deepEqual(
        first!.nalus.slice(0, 2).map((n) => n[0]! & 0x1f),
        [7, 8],
      );
      assert.equal(
        Math.floor(cam.encoder.frameNumber / cam.encoder.gopFrames),
        0,
        'the camera has encoded one IDR only: the stream started from the cache',
      );
      assert.equal(rx.rejected, 0);
      assert.equal(cam.stats.sessions, 1, 'the stream shares the warm pull');
      console.log(
        `time to first frame from a warm camera (HAP START to first decrypted keyframe): ${Math.round(ttff)} ms`,
      );
      await hb.waitForLine(/\[Porch\] camera is being watched: streaming to 127\.0\.0\.1:/);

      await client.setCharacteristics({ [selected]: selectedConfigTlv({ sessionId, command: 0 }) });
      await hb.waitForLine(/\[Porch\] stream .* stopped; camera no longer watched/);
      assert.ok(!hb.lines.join('\n').includes(PASSWORD));
    },
  );

  it(
    'with keepWarm off, pulls nothing until asked and falls back to a new RTSP session, saying so',
    { timeout: 120_000 },
    async (t) => {
      const cam = await startCameraSim({ ...CAM, gopSeconds: 1 });
      t.after(() => cam.close());
      const hb = await startHomebridge(t, 'homebridge', [
        {
          platform: 'Camgate',
          name: 'camgate',
          cameras: [{ id: 'porch', name: 'Porch', url: cam.url, username: CAM.username, password: PASSWORD }],
          media: { interfaceAddress: '127.0.0.1' },
          keepWarm: false,
          audit: false,
        },
      ]);
      await hb.waitForLine(/\[Porch\] added/);
      const { client, camera } = await pair(t, hb);
      assert.equal(cam.stats.sessions, 0, 'not pulled while nobody watches');
      const started = performance.now();
      const jpeg = await client.getImage(640, 360, camera.aid);
      const cold = performance.now() - started;
      assert.ok(isJpeg(jpeg));
      assert.equal(cam.stats.sessions, 1, 'the fallback opened its own RTSP session');
      await hb.waitForLine(/\[Porch\] no stream of this camera is cached: snapshot from a new RTSP session/);
      // Within snapshotCacheSeconds (default 5 s) the same JPEG is served again: no FFmpeg, no session.
      const again = performance.now();
      assert.deepEqual(await client.getImage(640, 360, camera.aid), jpeg);
      const hit = performance.now() - again;
      assert.equal(cam.stats.sessions, 1);
      console.log(
        `snapshot from a cold camera (FFmpeg opens RTSP, waits for a keyframe; 1 s GOP): ${Math.round(cold)} ms; the same JPEG again from the snapshot cache: ${Math.round(hit)} ms`,
      );
    },
  );
});
