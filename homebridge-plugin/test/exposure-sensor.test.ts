import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlagStore } from '@camgate/core';
import { exposureOf } from '../src/exposure-sensor.js';

describe('exposureOf (the per-camera HomeKit sensor state)', () => {
  it('marks every camera tampered while the gateway secret is in use elsewhere, and only then', async (t) => {
    const store = await FlagStore.open({});
    t.after(() => store.close());
    const at = new Date().toISOString();
    const raised = await store.raise({
      kind: 'secret-in-use',
      gatewayId: 'gw1',
      evidence: [{ host: 'hub', detail: 'close 4409', at }],
      advice: 'rotate the secret',
      source: 'gateway',
    });
    assert.ok(raised);
    for (const cam of ['porch', 'garden']) {
      assert.deepEqual(exposureOf(store.list(), cam), { exposed: false, atRisk: true }, cam);
    }
    await store.apply({ ...raised.flag, state: 'cleared', clearedAt: new Date().toISOString() });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: false, atRisk: false });
    // Another gateway-level flag without a camera does not taint every camera.
    await store.raise({
      kind: 'upnp-mapping',
      gatewayId: 'gw1',
      key: '8080',
      evidence: [{ host: '192.168.1.1', port: 8080, at }],
      advice: 'remove the mapping',
      source: 'gateway',
    });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: false, atRisk: false });
  });
});

describe('exposureOf with compromise flags', () => {
  it('marks the named camera tampered, and every camera for a scanning device that is not a camera', async (t) => {
    const store = await FlagStore.open({});
    t.after(() => store.close());
    const at = new Date().toISOString();
    const base = { kind: 'compromise' as const, gatewayId: 'gw1', advice: 'isolate it', source: 'gateway' as const };
    await store.raise({
      ...base,
      cameraId: 'porch',
      evidence: [{ host: '10.0.0.5', port: 23, protocol: 'canary', at }],
    });
    assert.deepEqual(exposureOf(store.list(), 'porch'), { exposed: false, atRisk: true });
    assert.deepEqual(exposureOf(store.list(), 'garden'), { exposed: false, atRisk: false });
    await store.raise({ ...base, key: 'device-10.0.0.77', evidence: [{ host: '10.0.0.77', port: 23, at }] });
    assert.deepEqual(exposureOf(store.list(), 'garden'), { exposed: false, atRisk: true });
  });
});
