/**
 * MQTT `status` tells the truth about the hub connection (docs/mqtt.md, "Availability"): `online` only while
 * the gateway's tunnel is connected and accepted, `offline` while the hub refuses it or it is disconnected;
 * `bridge` says the bridge itself runs. A real hub, gateways and mosquitto on loopback.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { once } from 'node:events';
import { FlagService, Gateway } from '../../src/gateway/index.js';
import { Hub } from '../../src/hub/index.js';
import { makeVerifier } from '../../src/tunnel/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { watch } from '../helpers/alerts.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { within } from '../helpers/bounded.js';

const SECRET = 'gw-secret-Status-4Tq8Lm2vXc9p';
const WAIT_MS = 20_000; // generous: the machine is shared and loaded

type T = { after: (fn: () => unknown) => void };

async function setUp(t: T, gatewayId: string, secret: string) {
  const sink = memorySink();
  const logger = createLogger('test', sink);
  const hub = await Hub.start({
    listen: { port: 0 },
    kurento: { port: 0 },
    gateways: [{ id: gatewayId, secretHash: await makeVerifier(SECRET) }],
    logger: logger.child('hub'),
  });
  t.after(() => hub.close());
  const mq = await startMosquitto();
  t.after(() => mq.stop());
  const w = await watch(mq.url, [`camgate/${gatewayId}/status`, `camgate/${gatewayId}/bridge`]);
  t.after(() => w.close());
  const gateway = Gateway.start({
    hub: { url: hub.tunnelUrl, gatewayId, secret },
    keepWarm: false,
    logger: logger.child('gateway'),
  });
  t.after(() => gateway.close());
  const flags = await FlagService.create({
    gatewayId,
    cameras: [],
    audit: false,
    control: gateway,
    mqtt: { url: mq.url, homeAssistant: false, reconnectMs: 100 },
    logger: logger.child('flags'),
  });
  t.after(() => flags.close());
  return { hub, gateway, flags, w, sink };
}

describe('FlagService MQTT status', () => {
  it('stays offline while the hub refuses the tunnel; the bridge topic says the bridge runs', async (t) => {
    const { gateway, flags, w, sink } = await setUp(t, 'refused-gw', 'not-the-secret-Xq3Lm8Rv2T');
    await within(
      new Promise<void>((resolve) => {
        if (gateway.tunnelState === 'refused') return resolve();
        gateway.on('state', (s) => s === 'refused' && resolve());
      }),
      WAIT_MS,
      'the hub refusing the tunnel',
    );
    await within(
      w.waitFor('camgate/refused-gw/bridge', (p) => p === 'online'),
      WAIT_MS,
      'bridge online',
    );
    // The bridge republishes its whole state on connect, `status` included: it has been decided by now.
    if (!flags.bridge!.connected) await within(once(flags.bridge!, 'connected'), WAIT_MS, 'mqtt');
    assert.equal(await within(w.waitFor('camgate/refused-gw/status'), WAIT_MS, 'status'), 'offline');
    assert.equal(flags.bridge!.status, 'offline');
    assert.ok(
      !w.all.some((m) => m.topic.endsWith('/status') && m.payload === 'online'),
      'status was never online while refused',
    );
    assert.ok(!JSON.stringify([w.all, sink.records]).includes('not-the-secret'), 'no secret anywhere');
  });

  it('is online once the hub accepts the tunnel, and offline again when the hub goes away', async (t) => {
    const { hub, flags, w } = await setUp(t, 'good-gw', SECRET);
    await within(
      w.waitFor('camgate/good-gw/status', (p) => p === 'online'),
      WAIT_MS,
      'status online',
    );
    await within(
      w.waitFor('camgate/good-gw/bridge', (p) => p === 'online'),
      WAIT_MS,
      'bridge online',
    );
    await hub.close();
    await within(
      w.waitFor('camgate/good-gw/status', (p) => p === 'offline'),
      WAIT_MS,
      'status offline',
    );
    assert.equal(flags.bridge!.status, 'offline');
    assert.equal(w.last.get('camgate/good-gw/bridge'), 'online', 'the bridge itself still runs');
  });
});
