/**
 * The built-in engine driven by the official kurento-client 7.3, unchanged,
 * in strict mode (it checks getInfo's modules before anything else).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import kurentoClient from 'kurento-client';
import { connectClient, startEngine, type Kc } from '../helpers/engine.js';

/** kurento-client hands a failed call to its callback (the default one only logs it). */
function callCb(obj: Kc, method: string, ...args: unknown[]): Promise<unknown> {
  return new Promise((resolve, reject) => {
    obj[method](...args, (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v)));
  });
}

/** kurento-client reports a failed `create` only to a callback (the returned object does not reject). */
function createCb(parent: Kc, type: string, params: Record<string, unknown>): Promise<Kc> {
  return new Promise((resolve, reject) => {
    parent.create(type, params, (err: Error | null, obj: Kc) => (err ? reject(err) : resolve(obj)));
  });
}

const CAMERA = 'rtsp://viewer:s3cret-pass@127.0.0.1:8554/cam1';

describe('KurentoEngine with kurento-client', () => {
  it('passes strict-mode module checks and reports 7.3.0 info', async (t) => {
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);
    const sm = await client.getServerManager();
    const info = await sm.getInfo();
    assert.equal(info.version, '7.3.0');
    assert.deepEqual(
      info.modules.map((m: { name: string }) => m.name),
      ['core', 'elements', 'filters'],
    );
    const elements = info.modules.find((m: { name: string }) => m.name === 'elements');
    assert.deepEqual(elements.factories, ['PlayerEndpoint', 'WebRtcEndpoint', 'RtpEndpoint']);
    assert.equal(engine.stats().sessions, 1);
  });

  it('creates a pipeline, a player and a WebRTC endpoint, and releases them all', async (t) => {
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);
    const pipeline = await client.create('MediaPipeline');
    assert.match(pipeline.id, /_kurento\.MediaPipeline$/);
    const player = await pipeline.create('PlayerEndpoint', { uri: CAMERA });
    const webrtc = await pipeline.create('WebRtcEndpoint');
    assert.ok(player.id.startsWith(`${pipeline.id}/`));
    assert.match(webrtc.id, /_kurento\.WebRtcEndpoint$/);
    assert.deepEqual(engine.stats(), { sessions: 1, objects: 3, pipelines: 1, rtspSources: 0 });

    // invoke: getters of the player and the pipeline
    // getUri never answers with the camera's password (KMS does: ARCHITECTURE.md, control path).
    assert.equal(await player.getUri(), CAMERA.replace('viewer:s3cret-pass@', ''));
    assert.equal(await player.getState(), 'STOP');
    const children = await pipeline.getChildren();
    assert.deepEqual(children.map((c: { id: string }) => c.id).sort(), [player.id, webrtc.id].sort());
    await webrtc.setName('viewer-1');
    assert.equal(await webrtc.getName(), 'viewer-1');

    await pipeline.release();
    assert.deepEqual(engine.stats(), { sessions: 1, objects: 0, pipelines: 0, rtspSources: 0 });
  });

  it('delivers subscribed events as onEvent notifications (ElementConnected)', async (t) => {
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);
    const pipeline = await client.create('MediaPipeline');
    const player = await pipeline.create('PlayerEndpoint', { uri: CAMERA });
    const webrtc = await pipeline.create('WebRtcEndpoint');
    const connected = new Promise<Record<string, unknown>>((resolve) => player.once('ElementConnected', resolve));
    // The subscription is sent when the listener is added; connect after it is acknowledged.
    await new Promise((r) => setImmediate(r));
    await client.getServerManager(); // round trip: the subscribe request has been answered
    await player.connect(webrtc);
    const ev = await connected;
    assert.equal(ev.sink, webrtc.id);
    assert.equal(ev.source, player.id);
    assert.equal(ev.type, 'ElementConnected');
    assert.equal(ev.mediaType, 'VIDEO');
    const sinks = await player.getSinkConnections();
    assert.deepEqual(
      sinks.map((c: { sink: string; source: string }) => [c.source, c.sink]),
      [[player.id, webrtc.id]],
    );
    await player.disconnect(webrtc);
    assert.deepEqual(await player.getSinkConnections(), []);
  });

  it('describes objects by id for a client that did not create them (getMediaobjectById)', async (t) => {
    const { engine } = await startEngine(t);
    const a = await connectClient(t, engine.url);
    const pipeline = await a.create('MediaPipeline');
    const webrtc = await pipeline.create('WebRtcEndpoint');
    const b = await connectClient(t, engine.url);
    const seen = await b.getMediaobjectById(webrtc.id);
    assert.equal(seen.constructor.name, 'WebRtcEndpoint');
    assert.equal(await seen.getStunServerPort(), 3478);
  });

  it('surfaces Kurento error codes through kurento-client', async (t) => {
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);

    // unknown object id → MEDIA_OBJECT_NOT_FOUND 40101 (kurento-client makes it a ReferenceError)
    await assert.rejects(client.getMediaobjectById('nope_kurento.MediaPipeline'), (err: Error & { code: number }) => {
      assert.ok(err instanceof ReferenceError);
      assert.equal(err.code, 40101);
      assert.equal(err.message, "Object 'nope_kurento.MediaPipeline' not found");
      return true;
    });

    // bad params → MEDIA_OBJECT_ILLEGAL_PARAM_ERROR 40107, without echoing the URI
    const pipeline = await client.create('MediaPipeline');
    await assert.rejects(
      createCb(pipeline, 'PlayerEndpoint', { uri: 'http://user:pw@192.0.2.1/' }),
      (err: Error & { code: number; data: { type: string } }) => {
        assert.equal(err.code, 40107);
        assert.equal(err.data.type, 'MEDIA_OBJECT_ILLEGAL_PARAM_ERROR');
        assert.doesNotMatch(err.message, /pw|192\.0\.2\.1/);
        return true;
      },
    );
    // a missing required parameter → MARSHALL_ERROR 40001 as KMS's generated code
    const webrtc = await pipeline.create('WebRtcEndpoint');
    await assert.rejects(callCb(webrtc, 'processOffer', undefined), (err: Error & { code: number }) => {
      assert.equal(err.code, 40001);
      assert.equal(err.message, "'offer' parameter is required");
      return true;
    });
    // RtpEndpoint with an SDES key of the wrong size: a clear error that does not echo the key
    await assert.rejects(
      createCb(pipeline, 'RtpEndpoint', {
        crypto: new (kurentoClient.getComplexType('SDES'))({
          crypto: 'AES_128_CM_HMAC_SHA1_80',
          keyBase64: 'c2hvcnQ=',
        }),
      }),
      (err: Error & { code: number }) => {
        assert.equal(err.code, 40107);
        assert.match(err.message, /30-byte master key\+salt/);
        assert.ok(!err.message.includes('c2hvcnQ='));
        return true;
      },
    );
    assert.equal(engine.stats().objects, 2);
  });
});
