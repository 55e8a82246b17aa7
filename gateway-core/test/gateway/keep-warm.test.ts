import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { KurentoClient } from '../../src/kurento/index.js';
import { startCameraSim, type CameraSim } from '../../src/rtsp/index.js';
import { startStack, type Stack } from '../helpers/stack.js';

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
      gateway: { keepWarm: true },
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

  it('releases the warm players when the gateway closes', async () => {
    await stack.gateway.close();
    await until('the warm pipeline released', () => stack.engine.stats().pipelines === 0);
    await until('the camera pull closed', () => sim.stats.playing === 0);
  });
});
