/**
 * ARCHITECTURE.md, "Security rules that hold everywhere": the gateway opens
 * no listening socket reachable from the network. The gateway runs in its
 * own process, relays a real Kurento session to the built-in engine, and its
 * sockets are read from /proc (proc(5): /proc/PID/fd and /proc/PID/net/*).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { KurentoEngine } from '../../src/engine/index.js';
import { Hub } from '../../src/hub/index.js';
import { KurentoClient } from '../../src/kurento/index.js';
import { makeVerifier } from '../../src/tunnel/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { waitUntil } from '@camgate/test-helpers';
import { listeningSockets, socketCount, startGatewayProcess } from '../helpers/persistence.js';

const GATEWAY_ID = 'home-nl';
const SECRET = 'gw-secret-nolisten-4Rk8sPq2Vn';

describe('Gateway process', () => {
  let engine: KurentoEngine;
  let hub: Hub;
  const log = createLogger('test', memorySink());

  before(async () => {
    engine = await KurentoEngine.start({ port: 0, logger: log.child('engine') });
    hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      gateways: [{ id: GATEWAY_ID, secretHash: await makeVerifier(SECRET) }],
      logger: log.child('hub'),
    });
  });
  after(async () => {
    await hub.close();
    await engine.close();
  });

  function gatewayConfig(): { hub: { url: string; gatewayId: string; secret: string }; mediaBackendUrl: string } {
    return { hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET }, mediaBackendUrl: engine.url };
  }

  it('opens no listening TCP or UDP socket while it relays a Kurento session', async (t) => {
    const gw = await startGatewayProcess({ gateway: gatewayConfig() });
    t.after(() => gw.kill());
    // A real session through the child: the tunnel and a backend connection are open while we look.
    const client = await KurentoClient.connect(hub.kurentoUrl(GATEWAY_ID), { logger: log.child('client') });
    t.after(() => client.close());
    const pipeline = await client.create('MediaPipeline');
    await client.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    assert.equal(engine.stats().pipelines, 1, 'the session reached the engine through the child gateway');

    // Tunnel to the hub + Kurento connection to the engine: the reader sees the child's sockets.
    assert.ok(socketCount(gw.pid) >= 2, `expected the gateway's client sockets, saw ${socketCount(gw.pid)}`);
    assert.deepEqual(listeningSockets(gw.pid), []);
    await client.release(pipeline);
  });

  for (const proto of ['tcp', 'udp'] as const) {
    it(`detects a listening ${proto.toUpperCase()} socket in a control process (the check can fail)`, async (t) => {
      const gw = await startGatewayProcess({ gateway: gatewayConfig(), alsoListen: proto });
      t.after(() => gw.kill());
      await waitUntil(() => hub.tunnels.peer(GATEWAY_ID)?.online === true, 'the control gateway online');
      const found = listeningSockets(gw.pid);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.ok(found[0]!.proto.startsWith(proto));
      assert.ok(found[0]!.port > 0);
    });
  }
});
