import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { connectClient, RawClient, startEngine } from '../helpers/engine.js';

const CAMERA = 'rtsp://admin:Cam-Passw0rd-9x@127.0.0.1:8554/stream1';

/** The HTTP status the engine answers a WebSocket upgrade with (101 when it is accepted). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => {
      resolve(101);
      ws.terminate();
    });
    ws.once('error', (err) => reject(err));
  });
}

describe('KurentoEngine access', () => {
  it('refuses a client without the token or with a wrong one (401) and logs why, never the token', async (t) => {
    const { engine, logs } = await startEngine(t);
    const token = new URL(engine.url).searchParams.get('token')!;
    const wrong = `${token.slice(0, -4)}AAAA`;
    assert.equal(await upgradeStatus(engine.listenUrl), 401);
    assert.equal(await upgradeStatus(`${engine.listenUrl}?token=${wrong}`), 401);
    assert.equal(await upgradeStatus(`${engine.listenUrl}?token=`), 401);
    assert.equal(await upgradeStatus(`${engine.listenUrl}?token=${token}&token=${token}`), 401);
    assert.equal(await upgradeStatus(engine.url.replace('/kurento', '/other')), 404);
    assert.equal(await upgradeStatus(engine.url), 101);
    const refused = logs.records.filter((r) => r.msg === 'connection refused');
    assert.deepEqual(
      refused.map((r) => r.fields.reason),
      ['no-token', 'wrong-token', 'wrong-token', 'wrong-token', 'path'],
    );
    const text = JSON.stringify(logs.records);
    assert.ok(!text.includes(token), 'the token is never logged');
    assert.ok(!text.includes(wrong), 'a presented token is never logged');
    assert.equal(engine.stats().sessions, 0);
  });

  it('refuses any connection that carries a browser Origin, even with the right token (403)', async (t) => {
    const { engine, logs } = await startEngine(t);
    assert.equal(await upgradeStatus(engine.url, { Origin: 'http://evil.example' }), 403);
    assert.equal(await upgradeStatus(engine.url, { Origin: 'null' }), 403);
    assert.equal(await upgradeStatus(engine.url, { Origin: engine.listenUrl.replace('ws:', 'http:') }), 403);
    const refused = logs.records.filter((r) => r.msg === 'connection refused');
    assert.deepEqual(
      refused.map((r) => [r.fields.reason, r.fields.status]),
      Array(3).fill(['browser-origin', 403]),
    );
  });

  it('the official kurento-client works unchanged with the URL that carries the token', async (t) => {
    // (Without the token it is refused at the upgrade like any client above; kurento-client's bundled ws
    // then throws the 401 as an uncaught exception, so that case is exercised with a plain WebSocket.)
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);
    const pipeline = await client.create('MediaPipeline');
    assert.match(pipeline.id, /_kurento\.MediaPipeline$/);
    assert.equal(engine.stats().pipelines, 1);
    await pipeline.release();
  });

  it('never answers with camera credentials: getUri, describe, getChildren, errors', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const pipeline = (await c.ok('create', { type: 'MediaPipeline', constructorParams: {} })).value as string;
    const player = (
      await c.ok('create', { type: 'PlayerEndpoint', constructorParams: { mediaPipeline: pipeline, uri: CAMERA } })
    ).value as string;
    assert.equal(
      (await c.ok('invoke', { object: player, operation: 'getUri', operationParams: {} })).value,
      'rtsp://127.0.0.1:8554/stream1',
    );
    await c.ok('describe', { object: player });
    await c.ok('invoke', { object: pipeline, operation: 'getChildren', operationParams: {} });
    const dot = await c.call('invoke', { object: pipeline, operation: 'getGstreamerDot', operationParams: {} });
    assert.ok(dot.error, 'debug dumps stay refused');
    await c.call('create', {
      type: 'PlayerEndpoint',
      constructorParams: { mediaPipeline: pipeline, uri: 'http://a:b@x/' },
    });
    const all = JSON.stringify(c.frames);
    assert.ok(!all.includes('Cam-Passw0rd-9x'), 'no frame carries the camera password');
    assert.ok(!all.includes('admin:'), 'no frame carries the camera user info');
  });
});
