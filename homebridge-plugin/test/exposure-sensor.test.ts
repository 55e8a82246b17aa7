import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagStore } from '@camgate/core';
import { exposureOf, homeExposureOf } from '../src/exposure-sensor.js';

const at = (): string => new Date().toISOString();

describe('exposureOf / homeExposureOf (the HomeKit sensors)', () => {
  it('marks every camera tampered while the gateway secret is in use elsewhere, and only then', async (t) => {
    const store = await FlagStore.open({});
    t.after(() => store.close());
    const raised = await store.raise({
      kind: 'secret-in-use',
      gatewayId: 'gw1',
      evidence: [{ host: 'hub', detail: 'close 4409', at: at() }],
      advice: 'rotate the secret',
      source: 'gateway',
    });
    assert.ok(raised);
    for (const cam of ['porch', 'garden']) {
      assert.deepEqual(exposureOf(store.list(), cam), { exposed: false, atRisk: true }, cam);
    }
    assert.deepEqual(homeExposureOf(store.list()), { exposed: true, atRisk: true });
    await store.apply({ ...raised.flag, state: 'cleared', clearedAt: at() });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: false, atRisk: false });
    assert.deepEqual(homeExposureOf(store.list()), { exposed: false, atRisk: false });
  });

  it("follows core's MqttBridge rule: a flag of the whole home counts for every camera", async (t) => {
    const store = await FlagStore.open({});
    t.after(() => store.close());
    // The hub found a camera port open on the home's address but cannot tell which camera answers.
    await store.raise({
      kind: 'exposed',
      gatewayId: 'gw1',
      key: '554',
      evidence: [{ host: '203.0.113.7', port: 554, protocol: 'rtsp', at: at() }],
      advice: 'close port 554',
      source: 'hub',
    });
    for (const cam of ['porch', 'garden']) {
      assert.deepEqual(exposureOf(store.list(), cam), { exposed: true, atRisk: false }, cam);
    }
    assert.deepEqual(homeExposureOf(store.list()), { exposed: true, atRisk: false });
    // A flag naming one camera stays that camera's, and is not a home-wide one.
    await store.raise({
      kind: 'telnet-open',
      gatewayId: 'gw1',
      cameraId: 'porch',
      key: 'port-23',
      evidence: [{ host: '192.168.1.20', port: 23, at: at() }],
      advice: 'turn telnet off',
      source: 'gateway',
    });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: true, atRisk: true });
    assert.deepEqual(exposureOf(store.list(), 'garden'), { exposed: true, atRisk: false });
    assert.deepEqual(homeExposureOf(store.list()), { exposed: true, atRisk: false });
  });

  it('keeps the home sensor closed while only camera flags are raised', async (t) => {
    const store = await FlagStore.open({});
    t.after(() => store.close());
    await store.raise({
      kind: 'upnp-mapping',
      gatewayId: 'gw1',
      cameraId: 'porch',
      key: 'tcp-8080',
      evidence: [{ host: '192.168.1.1', port: 8080, at: at() }],
      advice: 'remove the mapping',
      source: 'gateway',
    });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: false, atRisk: true });
    assert.deepEqual(exposureOf(store.list(), 'garden'), { exposed: false, atRisk: false });
    assert.deepEqual(homeExposureOf(store.list()), { exposed: false, atRisk: false });
  });
});
