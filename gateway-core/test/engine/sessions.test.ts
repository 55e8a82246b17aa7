/** Sessions: resume on another connection, INVALID_SESSION, garbage collection, closeSession, limits. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { RawClient, connectClient, startEngine } from '../helpers/engine.js';

describe('KurentoEngine sessions', () => {
  it('resumes a session from a second connection with connect {sessionId}; events follow it', async (t) => {
    const { engine } = await startEngine(t);
    const a = await RawClient.open(t, engine.url);
    const pipeline = await a.ok('create', { type: 'MediaPipeline' });
    const sessionId = pipeline.sessionId!;
    const webrtc = await a.ok('create', {
      type: 'WebRtcEndpoint',
      constructorParams: { mediaPipeline: pipeline.value },
    });
    const player = await a.ok('create', {
      type: 'PlayerEndpoint',
      constructorParams: { mediaPipeline: pipeline.value, uri: 'rtsp://127.0.0.1:1/cam' },
    });
    await a.ok('subscribe', { object: player.value, type: 'ElementConnected' });
    a.ws.close();
    await a.closed();

    const b = await RawClient.open(t, engine.url);
    const resumed = await b.ok('connect', { sessionId });
    assert.equal(resumed.sessionId, sessionId);
    // the old subscription now delivers to b; the request carries no sessionId: the connection's is used
    await b.ok('invoke', { object: player.value, operation: 'connect', operationParams: { sink: webrtc.value } });
    const ev = await b.event('ElementConnected');
    assert.equal(ev.params?.value?.object, player.value);
    assert.equal(ev.params?.value?.data.sink, webrtc.value);
    assert.equal(engine.stats().sessions, 1);
  });

  it('answers connect with an unknown sessionId with INVALID_SESSION 40007', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const r = await c.call('connect', { sessionId: 'no-such-session' });
    assert.deepEqual(r.error, { code: 40007, message: 'Invalid session', data: { type: 'INVALID_SESSION' } });
    const hostile = await c.call('create', { type: 'MediaPipeline', sessionId: '../../etc/passwd' });
    assert.equal(hostile.error?.code, -32602);
  });

  it('resumes a kurento-client session from a raw connection', async (t) => {
    const { engine } = await startEngine(t);
    const client = await connectClient(t, engine.url);
    const pipeline = await client.create('MediaPipeline');
    const raw = await RawClient.open(t, engine.url);
    const listed = await raw.ok('invoke', { object: 'manager_ServerManager', operation: 'getSessions' });
    const sessions = listed.value as string[];
    assert.equal(sessions.length, 2); // kurento-client's and the one this call just made
    const theirs = sessions.find((s) => s !== listed.sessionId)!;
    await raw.ok('connect', { sessionId: theirs });
    const pipes = (await raw.ok('invoke', { object: 'manager_ServerManager', operation: 'getPipelines' }))
      .value as string[];
    assert.deepEqual(pipes, [pipeline.id]);
  });

  it('garbage-collects the objects of a session left without a connection', async (t) => {
    const { engine } = await startEngine(t, { sessionGcMs: 20 });
    const c = await RawClient.open(t, engine.url);
    const p = await c.ok('create', { type: 'MediaPipeline' });
    await c.ok('create', { type: 'WebRtcEndpoint', constructorParams: { mediaPipeline: p.value } });
    const other = await RawClient.open(t, engine.url);
    const kept = await other.ok('create', { type: 'MediaPipeline' });
    assert.deepEqual(engine.stats(), { sessions: 2, objects: 3, pipelines: 2, rtspSources: 0 });
    const collected = once(engine, 'sessionClosed');
    c.ws.close();
    const [sessionId, reason] = await collected;
    assert.equal(sessionId, p.sessionId);
    assert.equal(reason, 'expired');
    assert.deepEqual(engine.stats(), { sessions: 1, objects: 1, pipelines: 1, rtspSources: 0 });
    assert.equal((await other.ok('invoke', { object: kept.value, operation: 'getName' })).value, kept.value);
    const gone = await other.call('connect', { sessionId: p.sessionId });
    assert.equal(gone.error?.code, 40007);
  });

  it('does not collect a session taken over before its keep-alive ran out', async (t) => {
    const { engine } = await startEngine(t, { sessionGcMs: 60_000 });
    const a = await RawClient.open(t, engine.url);
    const p = await a.ok('create', { type: 'MediaPipeline' });
    a.ws.close();
    await a.closed();
    const b = await RawClient.open(t, engine.url);
    await b.ok('connect', { sessionId: p.sessionId });
    b.ws.close();
    await b.closed();
    // closing the engine clears the pending countdown (no timer left behind)
    assert.equal(engine.stats().pipelines, 1);
  });

  it('closeSession releases the session at once', async (t) => {
    const { engine } = await startEngine(t);
    const c = await RawClient.open(t, engine.url);
    const p = await c.ok('create', { type: 'MediaPipeline' });
    const r = await c.ok('closeSession', { sessionId: p.sessionId, release: true });
    assert.equal(r.sessionId, p.sessionId);
    assert.deepEqual(engine.stats(), { sessions: 0, objects: 0, pipelines: 0, rtspSources: 0 });
  });

  it('limits objects per session and sessions per engine with NOT_ENOUGH_RESOURCES', async (t) => {
    const { engine } = await startEngine(t, { maxObjectsPerSession: 2, maxSessions: 1 });
    const c = await RawClient.open(t, engine.url);
    await c.ok('create', { type: 'MediaPipeline' });
    await c.ok('create', { type: 'MediaPipeline' });
    const third = await c.call('create', { type: 'MediaPipeline' });
    assert.equal(third.error?.code, 40009);
    const d = await RawClient.open(t, engine.url);
    const refused = await d.call('create', { type: 'MediaPipeline' });
    assert.equal(refused.error?.code, 40009);
    assert.equal(refused.error?.message, 'Too many sessions (limit 1)');
  });
});
