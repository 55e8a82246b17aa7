/**
 * Issue 12, finding 7: a gateway whose connection another client took over
 * with its secret (close 4409) used to stop for good, silently. Now it logs an
 * error, keeps reconnecting, and raises `secret-in-use`, which reaches MQTT
 * like any flag; once it holds its connection again for a while the flag clears.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagService, Gateway } from '../../src/gateway/index.js';
import { Hub } from '../../src/hub/index.js';
import { flagId, type Flag } from '../../src/alerts/index.js';
import { makeVerifier } from '../../src/tunnel/index.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { watch } from '../helpers/alerts.js';

const GATEWAY_ID = 'home-1';
const SECRET = 'gw-secret-Takeover-7Rq2Lm9vXc';

/** Bounds every wait: a failing test fails, it never hangs. */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms).unref()),
  ]);
}

describe('Gateway replaced by another client with its secret (4409)', () => {
  it('logs an error, raises secret-in-use on MQTT, keeps retrying, takes the link back and clears the flag', async (t) => {
    const sink = memorySink();
    const logger = createLogger('test', sink);
    const hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      gateways: [{ id: GATEWAY_ID, secretHash: await makeVerifier(SECRET) }],
      logger: logger.child('hub'),
    });
    t.after(() => hub.close());
    const base = { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET };
    // The real gateway retries quickly after a takeover; the intruder, once replaced, waits a minute.
    const real = Gateway.start({
      hub: base,
      keepWarm: false,
      tunnel: { replacedBackoff: { initialMs: 300, maxMs: 300 } },
      logger: logger.child('real'),
    });
    t.after(() => real.close());
    const flags = await FlagService.create({
      gatewayId: GATEWAY_ID,
      cameras: [],
      audit: false,
      mqtt: { embedded: true, homeAssistant: false },
      control: real,
      logger: logger.child('flags'),
    });
    t.after(() => flags.close());
    flags.watchTunnel(real, { clearAfterMs: 1_500 });
    const watcher = await watch(flags.bridge!.brokerUrl, [`camgate/${GATEWAY_ID}/#`]);
    t.after(() => watcher.close());
    await within(
      10_000,
      new Promise<void>((resolve) => {
        if (real.tunnelState === 'connected') return resolve();
        real.on('state', (st) => st === 'connected' && resolve());
      }),
      'the real gateway connected',
    );

    const states: [string, string | undefined][] = [];
    real.on('state', (s, info) => states.push([s, info.code]));
    const intruder = Gateway.start({
      hub: base,
      keepWarm: false,
      tunnel: { replacedBackoff: { initialMs: 60_000, maxMs: 60_000 } },
      logger: logger.child('intruder'),
    });
    t.after(() => intruder.close());

    const id = flagId('secret-in-use', GATEWAY_ID);
    const raised = JSON.parse(
      await within(
        10_000,
        watcher.waitFor(`camgate/${GATEWAY_ID}/flags/${id}`, (p) => p.includes('"raised"')),
        'the raised flag on MQTT',
      ),
    ) as Flag;
    assert.equal(raised.kind, 'secret-in-use');
    assert.equal(raised.source, 'gateway');
    assert.match(raised.advice, /secret has leaked/);
    assert.match(raised.evidence[0]!.detail!, /4409/);
    const summary = JSON.parse(
      await within(
        5_000,
        watcher.waitFor(`camgate/${GATEWAY_ID}/exposure`, (p) => p.includes(id)),
        'the gateway summary',
      ),
    ) as { state: string };
    assert.equal(summary.state, 'at-risk');
    assert.ok(
      sink.records.some(
        (r) => r.level === 'error' && /tunnel taken over/.test(r.msg) && r.component.startsWith('test:real'),
      ),
      'the replaced gateway logged an error',
    );

    // It did not give up: it reconnected and took the link back from the intruder.
    await within(
      10_000,
      new Promise<void>((resolve) => {
        const check = (): void => {
          if (real.tunnelState === 'connected' && intruder.tunnelState === 'reconnecting') resolve();
          else setTimeout(check, 50);
        };
        check();
      }),
      'the real gateway back online',
    );
    assert.deepEqual(states[0], ['reconnecting', 'CAMGATE_TUNNEL_REPLACED']);
    assert.ok(!states.some(([s]) => s === 'refused'), 'never refused, never stopped');

    // Held for clearAfterMs: the flag clears, on MQTT too.
    const cleared = JSON.parse(
      await within(
        10_000,
        watcher.waitFor(`camgate/${GATEWAY_ID}/flags/${id}`, (p) => p.includes('"cleared"')),
        'the cleared flag',
      ),
    ) as Flag;
    assert.equal(cleared.state, 'cleared');
    assert.equal(flags.store.list({ kind: 'secret-in-use', state: 'raised' }).length, 0);
    // No secret anywhere in what was published or logged.
    assert.ok(!JSON.stringify(watcher.all).includes(SECRET));
    assert.ok(!JSON.stringify(sink.records).includes(SECRET));
  });
});
