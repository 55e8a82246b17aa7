import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { flagId, type Flag } from '../../src/alerts/index.js';
import { auditCamera } from '../../src/gateway/audit-schedule.js';
import { FlagService } from '../../src/gateway/flag-service.js';
import { hasCode } from '../../src/util/index.js';
import { watch } from '../helpers/alerts.js';
import { startRtspServer } from '@camgate/test-helpers';
import { startIgdResponder, GATEWAY_ID, startStack } from '@camgate/test-helpers';

const T0 = '2025-01-01T10:00:00.000Z';

function hubFlag(over: Partial<Flag> = {}): Flag {
  const base = { kind: 'exposed' as const, gatewayId: GATEWAY_ID, key: 'port-554', ...over };
  return {
    evidence: [{ host: '198.51.100.7', port: 554, protocol: 'rtsp', banner: 'RTSP/1.0 200 OK', at: T0 }],
    advice: 'Remove the port forward.',
    source: 'hub',
    id: flagId(base.kind, base.gatewayId, over.cameraId, base.key),
    state: 'raised',
    firstSeen: T0,
    lastSeen: T0,
    raisedAt: T0,
    cleanScans: 0,
    ...base,
  };
}

describe('FlagService', () => {
  describe('#applyControl', () => {
    it('applies a flag forwarded by the hub and refuses forged, foreign and malformed ones', async (t) => {
      const control = new EventEmitter<{ control: [unknown] }>();
      const svc = await FlagService.create({ gatewayId: GATEWAY_ID, cameras: [], audit: false, control });
      t.after(() => svc.close());
      const rejected: string[] = [];
      svc.on('rejected', (r) => rejected.push(r.reason));
      const transitions: string[] = [];
      svc.on('transition', (tr) => transitions.push(`${tr.flag.id}:${tr.to}`));

      const good = hubFlag();
      const tr = await svc.applyControl({ type: 'flag', flag: good });
      assert.equal(tr?.to, 'raised');
      assert.deepEqual(transitions, [`${good.id}:raised`]);
      // The same flag again only refreshes: no second alert.
      assert.equal(await svc.applyControl({ type: 'flag', flag: good }), undefined);

      assert.equal(
        await svc.applyControl({ type: 'flag', flag: { ...good, id: 'exposed.other.x.000000000000' } }),
        undefined,
      );
      assert.equal(await svc.applyControl({ type: 'flag', flag: hubFlag({ gatewayId: 'someone-else' }) }), undefined);
      assert.equal(await svc.applyControl({ type: 'flag', flag: { ...good, source: 'gateway' } }), undefined);
      assert.equal(await svc.applyControl({ type: 'flag', flag: 'garbage' }), undefined);
      assert.equal(await svc.applyControl({ type: 'flag', flag: { ...good, evidence: 'x'.repeat(10) } }), undefined);
      assert.equal(rejected.length, 5);
      assert.match(rejected[0]!, /does not match/);
      assert.match(rejected[1]!, /another gateway/);
      assert.match(rejected[2]!, /source "hub"/);
      // Unknown control kinds are not flags: ignored without a rejection.
      assert.equal(await svc.applyControl({ type: 'ping' }), undefined);
      assert.equal(await svc.applyControl(null), undefined);
      assert.equal(rejected.length, 5);

      // Through the control event, as the Gateway delivers it: a hostile banner is escaped.
      const cleared = { ...hubFlag(), state: 'cleared' as const, clearedAt: '2025-01-01T11:00:00.000Z' };
      cleared.evidence = [{ ...cleared.evidence[0]!, banner: 'evil\x1b[31m' }];
      control.emit('control', { type: 'flag', flag: cleared });
      await new Promise((r) => setImmediate(r));
      const [stored] = svc.store.list({ state: 'cleared' });
      assert.equal(stored?.id, good.id);
      assert.equal(stored?.evidence[0]?.banner, 'evil\\x1b[31m');
      assert.deepEqual(transitions, [`${good.id}:raised`, `${good.id}:cleared`]);
    });
  });

  describe('#auditNow', () => {
    it('reports a UPnP mapping that points at a registered camera', async (t) => {
      const rtsp = await startRtspServer({ mode: 'open' });
      t.after(() => rtsp.close());
      const igd = await startIgdResponder({
        mappings: [{ externalPort: 554, protocol: 'TCP', internalPort: rtsp.port, internalClient: '127.0.0.1' }],
      });
      t.after(() => igd.close());
      const cam = { id: 'porch', name: 'Porch', url: `rtsp://127.0.0.1:${rtsp.port}/live` };
      assert.deepEqual(auditCamera(cam), {
        id: 'porch',
        name: 'Porch',
        host: '127.0.0.1',
        rtsp: { port: rtsp.port, path: '/live' },
      });
      const svc = await FlagService.create({
        gatewayId: GATEWAY_ID,
        cameras: [cam],
        audit: { upnp: { ssdpAddress: '127.0.0.1', ssdpPort: igd.ssdpPort }, telnet: false, onStart: false },
      });
      t.after(() => svc.close());
      const result = await svc.auditNow();
      assert.deepEqual(result.checked, ['upnp-mapping']);
      assert.equal(result.upnp?.mappings.length, 1);
      const [flag] = svc.store.list({ state: 'raised' });
      assert.equal(flag?.kind, 'upnp-mapping');
      assert.equal(flag?.cameraId, 'porch');
      assert.equal(flag?.source, 'gateway');
      assert.ok(igd.soapCalls.includes('GetGenericPortMappingEntry(0)'));
    });

    it('rejects CAMGATE_AUDIT_DISABLED when the audit is off and CAMGATE_FLAGS_CLOSED after close', async () => {
      const svc = await FlagService.create({ gatewayId: GATEWAY_ID, cameras: [], audit: false });
      await assert.rejects(svc.auditNow(), (e: unknown) => hasCode(e, 'CAMGATE_AUDIT_DISABLED'));
      await svc.close();
      await svc.close();
      await assert.rejects(svc.auditNow(), (e: unknown) => hasCode(e, 'CAMGATE_FLAGS_CLOSED'));
    });
  });

  describe('MQTT and persistence', () => {
    it('publishes a hub flag, retained, on the embedded broker and keeps it across a restart', async (t) => {
      const dir = await mkdtemp(join(tmpdir(), 'camgate-flags-'));
      t.after(() => rm(dir, { recursive: true, force: true }));
      const flagsFile = join(dir, 'flags.jsonl');
      const cameras = [{ id: 'porch', name: 'Porch', url: 'rtsp://192.0.2.10/stream' }];
      const svc = await FlagService.create({
        gatewayId: GATEWAY_ID,
        cameras,
        flagsFile,
        audit: false,
        mqtt: { embedded: true, homeAssistant: false },
      });
      let closed = false;
      t.after(() => (closed ? undefined : svc.close()));
      assert.ok(svc.bridge);
      const flag = hubFlag({ cameraId: 'porch' });
      await svc.applyControl({ type: 'flag', flag });
      const watcher = await watch(svc.bridge.brokerUrl, [`camgate/${GATEWAY_ID}/#`]);
      t.after(() => watcher.close());
      const payload = JSON.parse(await watcher.waitFor(`camgate/${GATEWAY_ID}/flags/${flag.id}`)) as Flag;
      assert.equal(payload.state, 'raised');
      const exposure = JSON.parse(
        await watcher.waitFor(`camgate/${GATEWAY_ID}/porch/exposure`, (p) => p.includes('exposed')),
      ) as { state: string };
      assert.equal(exposure.state, 'exposed');
      await watcher.close();
      await svc.close();
      closed = true;

      const again = await FlagService.create({ gatewayId: GATEWAY_ID, cameras, flagsFile, audit: false });
      t.after(() => again.close());
      assert.deepEqual(
        again.store.list({ state: 'raised' }).map((f) => f.id),
        [flag.id],
      );
    });

    it('refuses mqtt without url or embedded, and a short audit interval, naming the option', async () => {
      await assert.rejects(FlagService.create({ gatewayId: 'g', cameras: [], mqtt: {} }), /mqtt: set either url/);
      await assert.rejects(
        FlagService.create({ gatewayId: 'g', cameras: [], mqtt: { url: 'mqtt://127.0.0.1:1', embedded: true } }),
        RangeError,
      );
      await assert.rejects(
        FlagService.create({ gatewayId: 'g', cameras: [], audit: { intervalMs: 5 } }),
        (e: Error) => e instanceof RangeError && /audit\.intervalMs/.test(e.message) && /5/.test(e.message),
      );
      await assert.rejects(FlagService.create({ gatewayId: '', cameras: [] }), TypeError);
    });
  });

  it('receives the flag the hub raises through the tunnel', async (t) => {
    const rtsp = await startRtspServer({ mode: 'open' });
    t.after(() => rtsp.close());
    const stack = await startStack({
      hub: { exposure: { engine: 'builtin', ports: [rtsp.port], scanOnConnect: false } },
    });
    t.after(() => stack.close());
    const svc = await FlagService.create({ gatewayId: GATEWAY_ID, cameras: [], audit: false, control: stack.gateway });
    t.after(() => svc.close());
    const raised = new Promise<string>((resolve) => svc.on('transition', (tr) => resolve(tr.flag.id)));
    await stack.hub.exposure!.scanNow(GATEWAY_ID);
    const [hubSide] = stack.hub.exposure!.store.list({ state: 'raised' });
    assert.equal(await raised, hubSide?.id);
    assert.equal(svc.store.list({ state: 'raised' })[0]?.evidence[0]?.port, rtsp.port);
  });
});
