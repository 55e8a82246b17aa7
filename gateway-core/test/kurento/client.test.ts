import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { WebSocketServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { KurentoClient, KurentoRpcError } from '../../src/kurento/client.js';
import { hasCode, createLogger, memorySink } from '../../src/util/index.js';
import { startFakeKurento } from '../helpers/kurento.js';

/** A loopback server whose every reply the test scripts. */
async function scripted(onText: (text: string, send: (s: string) => void) => void) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  wss.on('connection', (ws) => ws.on('message', (d) => onText(d.toString(), (s) => ws.send(s))));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((r) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => r());
      }),
  };
}

describe('KurentoClient', () => {
  describe('#connect', () => {
    it('refuses ws:// to a non-loopback host without allowInsecure', async () => {
      await assert.rejects(KurentoClient.connect('ws://192.0.2.1:8888/kurento'), /only allowed to loopback/);
    });
    it('refuses other schemes and bad options', async () => {
      await assert.rejects(KurentoClient.connect('http://127.0.0.1/'), TypeError);
      await assert.rejects(KurentoClient.connect('ws://127.0.0.1:1/', { requestTimeoutMs: 0 }), RangeError);
      await assert.rejects(KurentoClient.connect('ws://127.0.0.1:1/', { pingIntervalMs: 1.5 }), TypeError);
    });
    it('rejects with CAMGATE_KURENTO_CLOSED when nothing listens', async (t) => {
      const srv = await scripted(() => {});
      const url = srv.url;
      await srv.close();
      t.after(() => {});
      await assert.rejects(KurentoClient.connect(url), (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_CLOSED'));
    });
  });

  it('builds pipeline → player → WebRTC and receives events', async (t) => {
    const fake = await startFakeKurento();
    t.after(() => fake.close());
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    assert.ok(client.sessionId);
    const player = await client.create('PlayerEndpoint', { mediaPipeline: pipeline, uri: 'camera://cam1' });
    const webrtc = await client.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    const got = new Promise<string>((resolve) => {
      void client.subscribe(webrtc, 'IceCandidateFound', (ev) => resolve(ev.type));
    });
    const anyEvent = new Promise<string>((resolve) => client.once('event', (ev) => resolve(ev.object)));
    await client.invoke(player, 'connect', { sink: webrtc });
    const answer = await client.invoke(webrtc, 'processOffer', { offer: 'v=0\r\n' });
    assert.match(String(answer), /^v=0/);
    await client.invoke(webrtc, 'gatherCandidates');
    assert.equal(await got, 'IceCandidateFound');
    assert.equal(await anyEvent, webrtc);
    await client.release(pipeline);
    const sent = fake.received.map((r) => r.method);
    assert.deepEqual(sent, ['create', 'create', 'create', 'subscribe', 'invoke', 'invoke', 'invoke', 'release']);
    // sessionId is carried once known (Kurento Protocol).
    assert.equal((fake.received[1]!.params as { sessionId?: string }).sessionId, client.sessionId);
  });

  it('unsubscribes through the returned function', async (t) => {
    const fake = await startFakeKurento();
    t.after(() => fake.close());
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    const p = await client.create('MediaPipeline');
    const off = await client.subscribe(p, 'Error', () => {});
    await off();
    await off();
    assert.deepEqual(fake.received.filter((r) => r.method === 'unsubscribe').length, 1);
  });

  it('pings with an interval first', async (t) => {
    const fake = await startFakeKurento();
    t.after(() => fake.close());
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 30_000 });
    t.after(() => client.close());
    await client.create('MediaPipeline');
    assert.deepEqual(fake.received[0], { jsonrpc: '2.0', id: 1, method: 'ping', params: { interval: 60_000 } });
  });

  it('pings without sessionId once the session is known, as kurento-jsonrpc does', async (t) => {
    const fake = await startFakeKurento();
    t.after(() => fake.close());
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    await client.create('MediaPipeline');
    assert.ok(client.sessionId, 'the fake names a session');
    await client.request('ping');
    await client.request('describe', { object: 'x' }).catch(() => undefined);
    const ping = fake.received.find((m) => m.method === 'ping');
    assert.deepEqual(ping?.params, {});
    const describeReq = fake.received.find((m) => m.method === 'describe');
    assert.equal((describeReq?.params as { sessionId?: string }).sessionId, client.sessionId);
  });

  it('waits pingTimeoutMs, not requestTimeoutMs, for a ping (a tunnel outage within its grace ends nothing)', async (t) => {
    // The server answers every request at once, pings only after 300 ms (a ping queued in a tunnel outage).
    const srv = await scripted((text, send) => {
      const m = JSON.parse(text) as { id: number; method: string };
      const reply = (): void => send(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: { sessionId: 's1' } }));
      if (m.method === 'ping') setTimeout(reply, 300);
      else reply();
    });
    t.after(() => srv.close());
    const client = await KurentoClient.connect(srv.url, { pingIntervalMs: 100, requestTimeoutMs: 50 });
    t.after(() => client.close());
    let closed: unknown = 'open';
    client.once('close', (err) => (closed = err));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(closed, 'open', 'slow pings within pingTimeoutMs keep the connection');
    await client.request('describe', { object: 'x' });

    // A ping that outlives pingTimeoutMs: the server is taken for dead.
    const deaf = await scripted(() => undefined);
    t.after(() => deaf.close());
    const gone = await KurentoClient.connect(deaf.url, { pingIntervalMs: 1000, pingTimeoutMs: 100 });
    t.after(() => gone.close());
    const err = await new Promise((r) => gone.once('close', r));
    assert.ok(hasCode(err, 'CAMGATE_KURENTO_CLOSED'), String(err));
  });

  it('rejects with CAMGATE_KURENTO_RPC carrying the JSON-RPC error', async (t) => {
    const fake = await startFakeKurento({ override: () => ({ error: { code: 40101, message: 'Object not found' } }) });
    t.after(() => fake.close());
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    await assert.rejects(client.invoke('nope', 'play'), (e: unknown) => {
      assert.ok(e instanceof KurentoRpcError);
      assert.equal(e.code, 'CAMGATE_KURENTO_RPC');
      assert.deepEqual(e.data, { code: 40101, message: 'Object not found' });
      return true;
    });
  });

  it('times out with CAMGATE_KURENTO_TIMEOUT and survives garbage from the server', async (t) => {
    const sink = memorySink();
    const srv = await scripted((_text, send) => {
      send('not json');
      send('[1,2,3]');
      send('{"jsonrpc":"2.0","method":"onEvent","params":{"value":7}}');
      send(`{"jsonrpc":"2.0","id":1,"result":${'['.repeat(50)}${']'.repeat(50)}}`);
      send('{"jsonrpc":"2.0","id":999,"result":{}}');
    });
    t.after(() => srv.close());
    const client = await KurentoClient.connect(srv.url, {
      pingIntervalMs: 0,
      requestTimeoutMs: 50,
      logger: createLogger('t', sink),
    });
    t.after(() => client.close());
    await assert.rejects(client.create('MediaPipeline'), (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_TIMEOUT'));
    assert.ok(sink.records.filter((r) => r.msg.startsWith('malformed')).length >= 3);
  });

  it('answers a server request with method not found (JSON-RPC 2.0 §5.1)', async (t) => {
    let reply = '';
    const gotReply = new Promise<void>((resolve) => {
      void scripted((text, send) => {
        const m = JSON.parse(text) as { id?: number; method?: string };
        if (m.method === 'create') send('{"jsonrpc":"2.0","id":"srv-1","method":"evil","params":{}}');
        else if (m.id === ('srv-1' as unknown)) {
          reply = text;
          resolve();
        }
      }).then((s) => {
        t.after(() => s.close());
        void KurentoClient.connect(s.url, { pingIntervalMs: 0, requestTimeoutMs: 60_000 }).then((c) => {
          t.after(() => c.close());
          c.create('MediaPipeline').catch(() => {});
        });
      });
    });
    await gotReply;
    assert.deepEqual(JSON.parse(reply), {
      jsonrpc: '2.0',
      id: 'srv-1',
      error: { code: -32601, message: 'Method not found' },
    });
  });

  it('bounds pending requests and rejects them all on close', async (t) => {
    const srv = await scripted(() => {});
    t.after(() => srv.close());
    const client = await KurentoClient.connect(srv.url, {
      pingIntervalMs: 0,
      maxPendingRequests: 2,
      requestTimeoutMs: 60_000,
    });
    const a = client.create('MediaPipeline');
    const b = client.create('MediaPipeline');
    await assert.rejects(client.create('MediaPipeline'), (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_BUSY'));
    const closed = new Promise<unknown>((r) => client.once('close', r));
    await client.close();
    await client.close();
    await assert.rejects(a, (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_CLOSED'));
    await assert.rejects(b, (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_CLOSED'));
    assert.equal(await closed, undefined, 'a close() is not an error');
    await assert.rejects(client.create('MediaPipeline'), (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_CLOSED'));
  });

  it('emits close with CAMGATE_KURENTO_CLOSED when the server goes away', async (t) => {
    const fake = await startFakeKurento();
    const client = await KurentoClient.connect(fake.url, { pingIntervalMs: 0 });
    t.after(() => client.close());
    const closed = new Promise<unknown>((r) => client.once('close', r));
    await fake.close();
    const err = await closed;
    assert.ok(hasCode(err, 'CAMGATE_KURENTO_CLOSED'));
  });

  it('closes the connection on a frame larger than maxMessageBytes', async (t) => {
    const srv = await scripted((_t, send) => send(JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'x'.repeat(5000) })));
    t.after(() => srv.close());
    const client = await KurentoClient.connect(srv.url, {
      pingIntervalMs: 0,
      maxMessageBytes: 2048,
      requestTimeoutMs: 60_000,
    });
    t.after(() => client.close());
    await assert.rejects(client.create('MediaPipeline'), (e: unknown) => hasCode(e, 'CAMGATE_KURENTO_CLOSED'));
  });
});
