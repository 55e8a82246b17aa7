/**
 * What the engine's media tests start from: a simulated camera, the built-in engine on loopback, the official
 * kurento-client connected to it and a MediaPipeline, all closed after the test.
 */
import type { TestContext } from 'node:test';
import { startCameraSim, type CameraSim, type CameraSimOptions } from '@camgate/camera-sim';
import type { KurentoEngine } from '../../src/engine/index.js';
import { connectClient, startEngine, type Kc } from './engine.js';

export interface CameraPipeline {
  cam: CameraSim;
  engine: KurentoEngine;
  logs: Awaited<ReturnType<typeof startEngine>>['logs'];
  client: Kc;
  pipeline: Kc;
}

/** Starts the camera (`cam`), then an engine whose media plane uses 127.0.0.1, a client, and a pipeline. */
export async function cameraPipeline(t: TestContext, cam: CameraSimOptions): Promise<CameraPipeline> {
  const camera = await startCameraSim(cam);
  t.after(() => camera.close());
  const { engine, logs } = await startEngine(t, { interfaceAddress: '127.0.0.1' });
  const client = await connectClient(t, engine.url);
  const pipeline = await client.create('MediaPipeline');
  return { cam: camera, engine, logs, client, pipeline };
}
