import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCameraProfiles, MAX_CAMERA_PROFILES } from '../../src/engine/camera-profiles.js';
import { KurentoEngine, SERVER_MANAGER_ID } from '../../src/engine/index.js';
import { KurentoClient, KurentoRpcError } from '../../src/kurento/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';

const URI = 'rtsp://admin:pw-Secret-9@127.0.0.1:9/stream';

describe('parseCameraProfiles', () => {
  it('reads uri, camera id and transcode mode (auto by default)', () => {
    const m = parseCameraProfiles({ cameras: [{ uri: URI, cameraId: 'front-door' }] });
    assert.deepEqual([...m], [[URI, { cameraId: 'front-door', transcode: 'auto' }]]);
    const n = parseCameraProfiles({ cameras: [{ uri: URI, cameraId: 'a', transcode: 'always' }] });
    assert.equal(n.get(URI)?.transcode, 'always');
  });

  for (const [what, params, message] of [
    ['no list', {}, /'cameras' parameter should be an array/],
    ['a non-object entry', { cameras: [1] }, /'cameras\[0\]' should be an object/],
    ['a missing uri', { cameras: [{ cameraId: 'a' }] }, /'uri' parameter is required/],
    ['a bad id', { cameras: [{ uri: URI, cameraId: '../x' }] }, /cameraId' is not a camera id/],
    [
      'an unknown mode',
      { cameras: [{ uri: URI, cameraId: 'a', transcode: 'sometimes' }] },
      /one of auto, never, always/,
    ],
    [
      'too many cameras',
      { cameras: Array.from({ length: MAX_CAMERA_PROFILES + 1 }, (_, i) => ({ uri: `${URI}${i}`, cameraId: 'a' })) },
      /more than 256/,
    ],
  ] as const) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseCameraProfiles(params as never), message);
    });
  }
});

describe('ServerManager setCameraProfiles', () => {
  it('names the camera in the engine log lines of its pull, and answers with a count, never a uri', async (t) => {
    const sink = memorySink();
    const engine = await KurentoEngine.start({ port: 0, logger: createLogger('engine', sink) });
    t.after(() => engine.close());
    const client = await KurentoClient.connect(engine.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    const count = await client.invoke(SERVER_MANAGER_ID, 'setCameraProfiles', {
      cameras: [{ uri: URI, cameraId: 'porch' }],
    });
    assert.equal(count, 1);
    const pipeline = await client.create('MediaPipeline');
    const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: URI });
    await client.invoke(player, 'play');
    // Port 9 (discard) refuses on loopback: the camera's connection attempt is logged with its id.
    const deadline = Date.now() + 10_000;
    while (!sink.records.some((r) => r.fields.camera === 'porch' && r.component.includes('rtsp'))) {
      if (Date.now() > deadline) assert.fail('no RTSP line named the camera');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(!JSON.stringify(sink.records).includes('pw-Secret-9'), 'no password in the log');
  });

  it('refuses malformed profiles with a Kurento error', async (t) => {
    const engine = await KurentoEngine.start({ port: 0 });
    t.after(() => engine.close());
    const client = await KurentoClient.connect(engine.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    await assert.rejects(client.invoke(SERVER_MANAGER_ID, 'setCameraProfiles', { cameras: 'x' }), KurentoRpcError);
  });
});
