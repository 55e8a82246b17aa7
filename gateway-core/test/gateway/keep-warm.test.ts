import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocketServer } from 'ws';
import { CameraRegistry } from '../../src/gateway/camera-registry.js';
import { CameraWarmer, isBuiltinEngine } from '../../src/gateway/keep-warm.js';
import { KurentoClient } from '../../src/kurento/index.js';
import { createLogger } from '../../src/util/index.js';
import { startCameraSim, type CameraSim } from '@camgate/camera-sim';
import { startStack, type Stack } from '@camgate/test-helpers';

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Gateway keepWarm', () => {
  let sim: CameraSim;
  let stack: Stack;
  before(async () => {
    sim = await startCameraSim({ port: 0, username: 'admin', password: 'warm-pass-123', width: 160, height: 96 });
    stack = await startStack({
      cameras: [{ id: 'porch', name: 'Porch', url: sim.url, username: 'admin', password: 'warm-pass-123' }],
      gateway: { keepWarm: undefined }, // the default, 'auto': the backend is the built-in engine
    });
  });
  after(async () => {
    await stack.close();
    await sim.close();
  });

  it('pulls each camera before anyone watches, and a viewer shares that pull', async () => {
    await until('the warm pull', () => sim.stats.playing === 1 && stack.engine.stats().rtspSources === 1);
    const client = await KurentoClient.connect(stack.kurentoUrl);
    try {
      const pipeline = await client.create('MediaPipeline');
      const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: 'camera://porch' });
      await client.invoke(player, 'play');
      assert.equal(stack.engine.stats().rtspSources, 1, 'the viewer reuses the warm source');
      assert.equal(sim.stats.sessions, 1, 'the camera saw one RTSP session in all');
      await client.release(pipeline);
    } finally {
      await client.close();
    }
  });

  it("tells the built-in engine each camera's id, so its camera-level log lines name the camera", async () => {
    await until('a camera-level engine line', () =>
      stack.logs.some((r) => r.component.startsWith('test:engine') && r.fields.camera === 'porch'),
    );
    const profiles = stack.logs.find((r) => r.msg === 'camera profiles set');
    assert.deepEqual(profiles?.fields.cameras, ['porch']);
    assert.ok(!JSON.stringify(stack.logs).includes('warm-pass-123'), 'no camera password in any log line');
  });

  it('releases the warm players when the gateway closes', async () => {
    await stack.gateway.close();
    await until('the warm pipeline released', () => stack.engine.stats().pipelines === 0);
    await until('the camera pull closed', () => sim.stats.playing === 0);
  });
});

describe('keepWarm: false', () => {
  it('still tells the built-in engine the camera profiles', async (t) => {
    const stack = await startStack({
      cameras: [{ id: 'gate', name: 'Gate', url: 'rtsp://127.0.0.1:9/s', transcode: 'never' }],
      gateway: { keepWarm: false },
    });
    t.after(() => stack.close());
    await until('the profiles', () => stack.logs.some((r) => r.msg === 'camera profiles set'));
    assert.equal(stack.engine.stats().pipelines, 0, 'no warm players');
    assert.deepEqual(stack.logs.find((r) => r.msg === 'camera profiles set')?.fields.cameras, ['gate']);
  });
});

describe('keepWarm: auto', () => {
  it('recognises the built-in engine from ServerManager.getMetadata, and nothing else', () => {
    assert.equal(isBuiltinEngine('{"server":"camgate-engine"}'), true);
    for (const other of [
      '',
      '{}',
      '{"server":"kms"}',
      'not json',
      null,
      42,
      '{"server":"camgate-engine"'.padEnd(5000),
    ]) {
      assert.equal(isBuiltinEngine(other), false, JSON.stringify(other));
    }
  });

  it('leaves the cameras alone on a backend that is not the built-in engine (Kurento Media Server)', async () => {
    // Kurento Media Server cannot run here. This stands in for it at the protocol level: it answers
    // getMetadata as KMS does (its configured metadata, "" by default) and records every other request.
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await once(wss, 'listening');
    const methods: string[] = [];
    wss.on('connection', (ws) =>
      ws.on('message', (data) => {
        const req = JSON.parse(String(data)) as { id: number; method: string; params?: { operation?: string } };
        methods.push(req.params?.operation ?? req.method);
        const value = req.params?.operation === 'getMetadata' ? '' : 'unexpected';
        ws.send(JSON.stringify({ jsonrpc: '2.0', id: req.id, result: { value, sessionId: 's1' } }));
      }),
    );
    const records: { msg: string }[] = [];
    const warmer = new CameraWarmer({
      backendUrl: `ws://127.0.0.1:${(wss.address() as { port: number }).port}/kurento`,
      cameras: new CameraRegistry([{ id: 'porch', name: 'Porch', url: 'rtsp://192.0.2.10/s', password: 'pw-123456' }]),
      logger: createLogger('test', (r) => records.push(r)),
      retryMs: 50,
      mode: 'auto',
    });
    try {
      warmer.start();
      await until('the decision', () => records.some((r) => /not the built-in engine/.test(r.msg)));
      await sleep(200); // a retry (50 ms) would have come by now
      assert.deepEqual(
        methods.filter((m) => m !== 'ping'), // the client's keep-alive
        ['getMetadata'],
        'no pipeline, no player: only the question',
      );
    } finally {
      await warmer.close();
      wss.close();
    }
  });
});
