/**
 * Persistence (ARCHITECTURE.md "The control path" §4, docs/tunnel.md
 * "Resume and acknowledgement"): the official kurento-client keeps its
 * session and objects across a cut tunnel and across a hub that dies and
 * comes back; objects of a session whose hub is gone for good are released
 * on the media backend after the grace period. Real parts throughout: the
 * built-in engine, our hub (in-process or as a child process), the tunnel and
 * the gateway with its policy.
 */
import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import kurentoClient from 'kurento-client';
import { KurentoEngine } from '../../src/engine/index.js';
import { Gateway } from '../../src/gateway/index.js';
import { makeVerifier } from '../../src/tunnel/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { startStack, type Stack, waitUntil } from '@camgate/test-helpers';
import { startHubProcess, type ChildFixture, type HubProcessInfo } from '../helpers/persistence.js';

type KClient = Awaited<ReturnType<typeof kurentoClient>>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type KObject = any;

/** Fast reconnects so the tests spend their time in the outage, not in backoff. */
const FAST_TUNNEL = { backoff: { initialMs: 50, maxMs: 250, reconnectWindowMs: 250 } };
/** Engine sessions outlive any test: whatever is released, the gateway released. */
const ENGINE_GC_MS = 600_000;

async function session(
  url: string,
  failAfter: number,
): Promise<{ client: KClient; pipeline: KObject; webrtc: KObject }> {
  const connecting = kurentoClient(url, { failAfter, strict: true });
  // kurento-client 7.3 re-emits every failed reconnect attempt (ECONNREFUSED while the hub is down, 503 until
  // the gateway is back) as 'error' on its reconnect-core emitter and adds no listener itself: without this
  // one, an application using the official client crashes on the first refused reconnect. `_re` exists only
  // on the instance, not on the object its promise resolves to.
  (connecting as unknown as { _re: { on(e: string, f: () => void): void } })._re.on('error', () => undefined);
  const client = await connecting;
  const pipeline = await client.create('MediaPipeline');
  const webrtc = await pipeline.create('WebRtcEndpoint');
  return { client, pipeline, webrtc };
}

describe('Persistence: a cut tunnel', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack({ gateway: { tunnel: FAST_TUNNEL }, engine: { sessionGcMs: ENGINE_GC_MS } });
  });
  after(() => stack.close());

  it('keeps the kurento-client session and its objects across a 3 s TCP cut between gateway and hub', async (t) => {
    const { client, pipeline, webrtc } = await session(stack.kurentoUrl, 1);
    t.after(() => client.close());
    const stats = stack.engine.stats();
    const accepted = stack.proxy.accepted;
    const released: unknown[] = [];
    stack.gateway.on('released', (e) => released.push(e));

    const down = once(stack.gateway, 'state');
    stack.proxy.sever();
    assert.equal((await down)[0], 'reconnecting');
    // A request made during the outage waits in the hub's detached channel and is answered after it.
    const duringCut = webrtc.getMediaState();
    await delay(3_000);
    assert.equal(stack.gateway.tunnelState, 'reconnecting', 'the cut held: no tunnel while severed');
    stack.proxy.restore();
    await waitUntil(() => stack.gateway.tunnelState === 'connected', 'the tunnel back');

    assert.equal(await duringCut, 'DISCONNECTED');
    assert.equal(await webrtc.getMediaState(), 'DISCONNECTED', 'an object created before the cut answers');
    const second = await pipeline.create('WebRtcEndpoint');
    await webrtc.connect(second);
    assert.ok(stack.proxy.accepted > accepted, 'the gateway reconnected');
    assert.equal(stack.gateway.activeChannels, 1, 'the same relay carried on: no second Kurento connection');
    assert.deepEqual(stack.engine.stats(), { ...stats, objects: stats.objects + 1 }, 'one new object, no duplicates');
    assert.deepEqual(released, [], 'nothing was released');
    await pipeline.release();
    assert.equal(stack.engine.stats().objects, 0);
  });
});

describe('Persistence: the hub process dies', () => {
  const GATEWAY_ID = 'home-p';
  const SECRET = 'gw-secret-persist-9Lq2Wm5Tz';
  const log = createLogger('test', memorySink());
  let engine: KurentoEngine;
  let verifier: string;
  const hubs: ChildFixture<HubProcessInfo>[] = [];
  const gateways: Gateway[] = [];

  before(async () => {
    engine = await KurentoEngine.start({ port: 0, sessionGcMs: ENGINE_GC_MS, logger: log.child('engine') });
    verifier = await makeVerifier(SECRET);
  });
  after(async () => {
    for (const g of gateways) await g.close();
    for (const h of hubs) await h.kill();
    await engine.close();
  });

  async function hubProcess(listenPort = 0, kurentoPort = 0): Promise<ChildFixture<HubProcessInfo>> {
    const hub = await startHubProcess({
      listenPort,
      kurentoPort,
      gateways: [{ id: GATEWAY_ID, secretHash: verifier }],
    });
    hubs.push(hub);
    return hub;
  }

  function gateway(tunnelUrl: string, extra: { sessionGraceMs?: number; resumeGraceMs?: number } = {}): Gateway {
    const gw = Gateway.start({
      hub: { url: tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET },
      mediaBackendUrl: engine.url,
      sessionGraceMs: extra.sessionGraceMs,
      keepWarm: false, // these tests count the engine's pipelines
      tunnel: { ...FAST_TUNNEL, resumeGraceMs: extra.resumeGraceMs },
      logger: log.child('gateway'),
    });
    gateways.push(gw);
    return gw;
  }

  function kurentoUrl(info: HubProcessInfo): string {
    return `ws://127.0.0.1:${info.kurentoPort}/kurento/${GATEWAY_ID}`;
  }

  it('resumes the session with the same objects after SIGKILL and a new hub on the same ports', async (t) => {
    const first = await hubProcess();
    const gw = gateway(first.info.tunnelUrl);
    await waitUntil(() => gw.tunnelState === 'connected', 'the gateway online');
    // failAfter bounds the client's own reconnect loop (reconnect-ws, fibonacci from 100 ms).
    const { client, pipeline, webrtc } = await session(kurentoUrl(first.info), 30);
    t.after(() => client.close());
    const sessionId = client.sessionId;
    const stats = engine.stats();
    const reconnected = once(client, 'reconnected');

    await first.kill('SIGKILL');
    await waitUntil(() => gw.tunnelState === 'reconnecting', 'the gateway to notice');
    await delay(3_000);
    assert.equal(gw.tunnelState, 'reconnecting', 'no hub while it was down');
    const second = await hubProcess(first.info.listenPort, first.info.kurentoPort);
    assert.equal(second.info.kurentoPort, first.info.kurentoPort);

    const [sameSession] = (await reconnected) as [boolean];
    assert.equal(sameSession, true, 'kurento-client resumed its session with connect {sessionId}');
    assert.equal(client.sessionId, sessionId);
    assert.equal(gw.tunnelState, 'connected');
    assert.equal(await webrtc.getMediaState(), 'DISCONNECTED', 'an object created before the outage answers');
    const player2 = await pipeline.create('WebRtcEndpoint');
    await webrtc.connect(player2);
    assert.deepEqual(engine.stats(), { ...stats, objects: stats.objects + 1 }, 'no duplicate objects, one session');
    await pipeline.release();
    assert.equal(engine.stats().objects, 0, 'nothing leaked in the engine');
    await gw.close();
    await second.kill();
  });

  it('releases the objects on the engine once the hub is gone for good (grace periods)', async (t) => {
    const hub = await hubProcess();
    const gw = gateway(hub.info.tunnelUrl, { sessionGraceMs: 200, resumeGraceMs: 300 });
    await waitUntil(() => gw.tunnelState === 'connected', 'the gateway online');
    assert.equal(engine.stats().objects, 0, 'a clean engine to start with');
    const { client, pipeline } = await session(kurentoUrl(hub.info), 1);
    t.after(() => client.close());
    await pipeline.create('WebRtcEndpoint');
    assert.equal(engine.stats().objects, 3);
    const released = once(gw, 'released');

    await hub.kill('SIGKILL');
    await waitUntil(() => gw.tunnelState === 'reconnecting', 'the gateway to notice');
    assert.equal(engine.stats().objects, 3, 'kept while the hub may come back');
    const [event] = (await released) as [{ sessionId: string; objects: number }];
    assert.ok(event.objects >= 1, 'the session owned objects');
    await waitUntil(() => engine.stats().objects === 0, 'the engine to hold no objects');
    assert.equal(engine.stats().pipelines, 0);
    assert.equal(gw.keptSessions, 0);
    assert.equal(gw.activeChannels, 0);
  });
});
