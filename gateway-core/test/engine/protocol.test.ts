/**
 * The engine's JSON-RPC surface spoken by hand: what kurento-client never
 * sends (garbage, oversized frames, transactions by hand, unknown methods).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RawClient, startEngine } from '../helpers/engine.js';

describe('KurentoEngine protocol', () => {
  it('answers malformed JSON with a parse error and keeps serving the connection', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    c.ws.send('{"jsonrpc":"2.0","id":1,"method":"ping"'); // truncated
    const parseErr = await c.next((f) => f.error?.code === -32700);
    assert.deepEqual(parseErr, { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } });
    c.ws.send('[1,2,3]'); // batch / not an object — JSON-RPC 2.0 §6 is not part of Kurento
    assert.equal((await c.next((f) => f.error?.code === -32600)).id, null);
    c.ws.send(Buffer.from([0xff, 0xfe, 0x00, 0x01])); // binary garbage
    await c.next(() => c.frames.filter((x) => x.error?.code === -32700).length === 2);
    const pong = await c.ok('ping', { interval: 5000 });
    assert.equal(pong.value, 'pong');
  });

  it('refuses unknown methods, wrong versions and non-object params (JSON-RPC 2.0 §5.1)', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const unknown = await c.call('getRoot', {});
    assert.deepEqual(unknown.error, { code: -32601, message: 'Method not found' });
    c.ws.send(JSON.stringify({ jsonrpc: '1.0', id: 7, method: 'ping' }));
    assert.equal((await c.next((f) => f.id === 7)).error?.code, -32600);
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'create', params: [1] }));
    assert.equal((await c.next((f) => f.id === 8)).error?.code, -32602);
  });

  it('answers unknown types, objects and methods with Kurento codes and data.type', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const badType = await c.call('create', { type: 'RecorderEndpoint', constructorParams: {} });
    assert.deepEqual(badType.error, {
      code: 40100,
      message: "Factory 'RecorderEndpoint' not found",
      data: { type: 'MEDIA_OBJECT_TYPE_NOT_FOUND' },
    });
    const pipeline = await c.ok('create', { type: 'kurento.MediaPipeline' }); // qualified names work as in KMS
    const badMethod = await c.call('invoke', {
      object: pipeline.value,
      operation: 'getGstreamerDotX',
      operationParams: {},
    });
    assert.equal(badMethod.error?.code, 40105);
    assert.equal(badMethod.error?.data?.type, 'MEDIA_OBJECT_METHOD_NOT_FOUND');
    const dot = await c.call('invoke', { object: pipeline.value, operation: 'getGstreamerDot' });
    assert.equal(dot.error?.code, 40006); // debug dumps would reveal camera URIs
    const missing = await c.call('invoke', { object: 'gone_kurento.MediaPipeline', operation: 'getName' });
    assert.deepEqual(missing.error, {
      code: 40101,
      message: "Object 'gone_kurento.MediaPipeline' not found",
      data: { type: 'MEDIA_OBJECT_NOT_FOUND' },
    });
    const badEvent = await c.call('subscribe', { object: pipeline.value, type: 'IceCandidateFound' });
    assert.deepEqual(badEvent.error, {
      code: 40106,
      message: 'Event not found',
      data: { type: 'MEDIA_OBJECT_EVENT_NOT_SUPPORTED' },
    });
    // every answer carries the session like KMS
    assert.equal(typeof pipeline.sessionId, 'string');
  });

  it('closes a connection that sends an oversized frame, without disturbing other sessions', async (t) => {
    const { engine } = await startEngine(t, { maxMessageBytes: 4096 });
    const good = await RawClient.open(t, engine.url);
    const pipeline = await good.ok('create', { type: 'MediaPipeline' });
    const bad = await RawClient.open(t, engine.url);
    const closed = bad.closed();
    bad.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(10_000) } }));
    assert.equal((await closed).code, 1009); // RFC 6455 §7.4.1: message too big
    const name = await good.ok('invoke', { object: pipeline.value, operation: 'getName' });
    assert.equal(name.value, pipeline.value);
    assert.equal(engine.stats().pipelines, 1);
  });

  it('runs transactions in order, resolving newref: and stopping at the first error', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const ops = [
      { jsonrpc: '2.0', id: 0, method: 'create', params: { type: 'MediaPipeline' } },
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'create',
        params: { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: 'newref:0' } },
      },
      { jsonrpc: '2.0', id: 2, method: 'invoke', params: { object: 'newref:1', operation: 'getMediaPipeline' } },
      { jsonrpc: '2.0', id: 3, method: 'invoke', params: { object: 'newref:1', operation: 'noSuchMethod' } },
      { jsonrpc: '2.0', id: 4, method: 'release', params: { object: 'newref:0' } },
    ];
    const r = await c.ok('transaction', { operations: ops });
    const value = r.value as { id: number; result?: { value: string }; error?: { code: number } }[];
    assert.equal(value.length, 4); // the release after the failing operation never ran
    assert.match(value[0]!.result!.value, /_kurento\.MediaPipeline$/);
    assert.ok(value[1]!.result!.value.startsWith(`${value[0]!.result!.value}/`));
    assert.equal(value[2]!.result!.value, value[0]!.result!.value);
    assert.equal(value[3]!.error!.code, 40105);
    assert.equal(engine.stats().objects, 2);

    const malformed = await c.call('transaction', { operations: [{ jsonrpc: '2.0', id: 5, method: 'ping' }] });
    assert.deepEqual(malformed.error, {
      code: 40008,
      message: "Id of request '0' should be '0'",
      data: { type: 'MALFORMED_TRANSACTION' },
    });
    const badRef = await c.call('transaction', {
      operations: [{ jsonrpc: '2.0', id: 0, method: 'release', params: { object: 'newref:3' } }],
    });
    assert.equal(badRef.error?.message, 'Result not found on request 3');
  });

  it('does not answer notifications (JSON-RPC 2.0 §4.1) but still runs them', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const pipeline = await c.ok('create', { type: 'MediaPipeline' });
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'release', params: { object: pipeline.value } }));
    await c.ok('ping'); // requests on one connection run in order: the release is done
    assert.equal(engine.stats().pipelines, 0);
    assert.equal(c.frames.filter((f) => f.id === undefined || f.id === null).length, 0);
  });
});
