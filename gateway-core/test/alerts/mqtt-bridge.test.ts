import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlagStore } from '../../src/alerts/flag-store.js';
import { MqttBridge } from '../../src/alerts/mqtt-bridge.js';
import { resolveBridgeOptions } from '../../src/alerts/mqtt-options.js';
import type { Flag, FlagObservation } from '../../src/alerts/flag.js';
import type { ExposurePayload } from '../../src/alerts/topics.js';
import type { HaBinarySensorConfig } from '../../src/alerts/ha-discovery.js';
import { adviceFor } from '../../src/alerts/advice.js';
import { createLogger, memorySink, type CamgateError } from '../../src/util/index.js';
import { mosquittoPasswordFile, startMosquitto } from '../helpers/mosquitto.js';
import { startTcpProxy, watch } from '../helpers/alerts.js';

type T = { after: (fn: () => unknown) => void };

function exposed(cameraId: string, port = 554): FlagObservation {
  return {
    kind: 'exposed',
    gatewayId: 'gw1',
    cameraId,
    key: String(port),
    evidence: [{ host: '203.0.113.7', port, protocol: 'rtsp', banner: 'RTSP/1.0 200 OK', at: '2025-01-01T00:00:00Z' }],
    advice: adviceFor('exposed', { port, protocol: 'RTSP' }),
    source: 'hub',
  };
}
const telnet: FlagObservation = { ...exposed('cam2', 23), kind: 'telnet-open', source: 'gateway' };
const cameras = [
  { id: 'cam1', name: 'Porch' },
  { id: 'cam2', name: 'Garage' },
];
const scope = { source: 'hub' as const, gatewayId: 'gw1', kinds: ['exposed' as const] };

async function tempDir(t: T): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'camgate-mqtt-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function bridgeUp(
  t: T,
  opts: Partial<Parameters<typeof MqttBridge.start>[0]> & { store: FlagStore },
): Promise<MqttBridge> {
  const bridge = await MqttBridge.start({ gatewayId: 'gw1', cameras, reconnectMs: 50, ...opts });
  t.after(() => bridge.close());
  if (!bridge.connected) await once(bridge, 'connected');
  return bridge;
}

describe('MqttBridge', () => {
  describe('with the embedded aedes broker', () => {
    it('publishes status, flags and exposure summaries as retained QoS 1 JSON', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      await store.raise(exposed('cam1'));
      const bridge = await bridgeUp(t, { store });
      assert.match(bridge.brokerUrl, /^mqtt:\/\/127\.0\.0\.1:\d+$/);
      await store.raise(telnet); // after connect: published live
      const w = await watch(bridge.brokerUrl, ['camgate/#']);
      t.after(() => w.close());
      // `status` is the hub tunnel's: offline until whoever watches it says otherwise; `bridge` is ours.
      assert.equal(await w.waitFor('camgate/gw1/status'), 'offline');
      assert.equal(await w.waitFor('camgate/gw1/bridge'), 'online');
      const [f1, f2] = store.list();
      const flag = JSON.parse(await w.waitFor(`camgate/gw1/flags/${f1!.id}`)) as Flag;
      assert.deepEqual(flag, f1);
      assert.equal(flag.evidence[0]!.port, 554);
      await w.waitFor(`camgate/gw1/flags/${f2!.id}`);
      const cam1 = JSON.parse(await w.waitFor('camgate/gw1/cam1/exposure')) as ExposurePayload;
      assert.deepEqual(cam1, { state: 'exposed', flags: [f1!.id], updatedAt: f1!.raisedAt });
      const cam2 = JSON.parse(
        await w.waitFor('camgate/gw1/cam2/exposure', (p) => p.includes('at-risk')),
      ) as ExposurePayload;
      assert.deepEqual(cam2.flags, [f2!.id]);
      const gw = JSON.parse(await w.waitFor('camgate/gw1/exposure', (p) => p.includes(f2!.id))) as ExposurePayload;
      assert.equal(gw.state, 'exposed');
      assert.ok(
        w.all.every((m) => m.retain),
        'messages delivered on subscribe are retained ones',
      );
      await bridge.publishStatus('online'); // as FlagService does when the hub accepts the tunnel
      assert.equal(await w.waitFor('camgate/gw1/status', (p) => p === 'online'), 'online');
    });

    it('shows a home-wide flag (no camera named) on every camera of that home', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const bridge = await bridgeUp(t, { store });
      const w = await watch(bridge.brokerUrl, ['camgate/gw1/+/exposure']);
      t.after(() => w.close());
      const { cameraId: _drop, ...homeWide } = exposed('cam1', 8554);
      await store.raise(homeWide);
      const [f] = store.list();
      for (const cam of ['cam1', 'cam2']) {
        const p = JSON.parse(
          await w.waitFor(`camgate/gw1/${cam}/exposure`, (m) => m.includes(f!.id)),
        ) as ExposurePayload;
        assert.equal(p.state, 'exposed', cam);
      }
    });

    it('publishes a clear once, and the summary returns to ok', async (t) => {
      const store = await FlagStore.open({ clearAfterCleanScans: 1 });
      t.after(() => store.close());
      const bridge = await bridgeUp(t, { store });
      const w = await watch(bridge.brokerUrl, ['camgate/gw1/+/exposure', 'camgate/gw1/flags/+']);
      t.after(() => w.close());
      await store.reconcile(scope, [exposed('cam1')]);
      await w.waitFor('camgate/gw1/cam1/exposure', (p) => p.includes('"exposed"'));
      await store.reconcile(scope, [exposed('cam1')]); // refresh: no transition, no publish
      const [cleared] = await store.reconcile(scope, []);
      const id = cleared!.flag.id;
      await w.waitFor(`camgate/gw1/flags/${id}`, (p) => p.includes('"cleared"'));
      const summary = await w.waitFor('camgate/gw1/cam1/exposure', (p) => p.includes(cleared!.at));
      assert.deepEqual(JSON.parse(summary), { state: 'ok', flags: [], updatedAt: cleared!.at });
      const flagMsgs = w.all
        .filter((m) => m.topic === `camgate/gw1/flags/${id}`)
        .map((m) => (JSON.parse(m.payload) as Flag).state);
      assert.deepEqual(flagMsgs, ['raised', 'cleared']);
    });

    it('publishes Home Assistant discovery that matches the documented binary_sensor fields', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const bridge = await bridgeUp(t, { store, gatewayName: 'Home' });
      const w = await watch(bridge.brokerUrl, ['homeassistant/#']);
      t.after(() => w.close());
      const configs: HaBinarySensorConfig[] = [];
      for (const cam of cameras) {
        const topic = `homeassistant/binary_sensor/camgate_gw1_${cam.id}/config`;
        const c = JSON.parse(await w.waitFor(topic)) as HaBinarySensorConfig;
        configs.push(c);
        for (const key of [
          'name',
          'unique_id',
          'object_id',
          'state_topic',
          'device_class',
          'availability',
          'device',
        ] as const) {
          assert.ok(c[key], `${key} present`);
        }
        assert.equal(c.device_class, 'problem');
        assert.equal(c.state_topic, `camgate/gw1/${cam.id}/exposure`);
        assert.equal(c.json_attributes_topic, c.state_topic);
        // Available only while the hub tunnel is up AND the bridge runs (HA `availability_mode: all`).
        assert.deepEqual(c.availability, [
          { topic: 'camgate/gw1/status', payload_available: 'online', payload_not_available: 'offline' },
          { topic: 'camgate/gw1/bridge', payload_available: 'online', payload_not_available: 'offline' },
        ]);
        assert.equal(c.availability_mode, 'all');
        assert.deepEqual([c.payload_on, c.payload_off], ['ON', 'OFF']);
        assert.match(c.value_template, /value_json\.state/);
        assert.match(c.object_id, /^[a-zA-Z0-9_-]+$/);
        assert.equal(topic.split('/')[2], c.object_id);
        assert.equal(c.qos, 1);
      }
      assert.notEqual(configs[0]!.unique_id, configs[1]!.unique_id);
      assert.deepEqual(configs[0]!.device, configs[1]!.device);
      assert.deepEqual(configs[0]!.device.identifiers, ['camgate_gw1']);
      assert.equal(configs[0]!.device.manufacturer, 'camgate');
      assert.equal(configs[0]!.device.name, 'Home');
      assert.equal(typeof configs[0]!.device.sw_version, 'string');
    });

    it('close() publishes offline, is idempotent and stops the embedded broker', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const bridge = await bridgeUp(t, { store });
      await bridge.publishStatus('online');
      const w = await watch(bridge.brokerUrl, ['camgate/gw1/status', 'camgate/gw1/bridge']);
      await w.waitFor('camgate/gw1/status', (p) => p === 'online');
      await w.waitFor('camgate/gw1/bridge', (p) => p === 'online');
      const closing = Promise.all([bridge.close(), bridge.close()]);
      assert.equal(await w.waitFor('camgate/gw1/status', (p) => p === 'offline'), 'offline');
      assert.equal(await w.waitFor('camgate/gw1/bridge', (p) => p === 'offline'), 'offline');
      await closing;
      await w.close();
      assert.equal(bridge.connected, false);
      await assert.rejects(watch(bridge.brokerUrl, ['x'], { connectTimeout: 2000 }), /ECONNREFUSED/);
    });

    it('publishes flags of a camera id that is not a topic level, without its exposure topic', async (t) => {
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const sink = memorySink();
      const bridge = await bridgeUp(t, { store, logger: createLogger('t', sink) });
      const w = await watch(bridge.brokerUrl, ['camgate/#']);
      t.after(() => w.close());
      await store.raise(exposed('cam/#+'));
      const id = store.list()[0]!.id;
      assert.match(id, /^[a-z0-9._-]+$/);
      await w.waitFor(`camgate/gw1/flags/${id}`);
      await w.waitFor('camgate/gw1/exposure', (p) => p.includes(id));
      assert.ok(!w.all.some((m) => m.topic.includes('#') || m.topic.includes('+')));
      assert.ok(sink.records.some((r) => /not a valid topic level/.test(r.msg)));
    });
  });

  describe('options', () => {
    it('refuses ids that are not one topic level, bad URLs and plain MQTT off loopback', async () => {
      const store = await FlagStore.open({});
      const base = { store, cameras };
      await assert.rejects(
        MqttBridge.start({ ...base, gatewayId: 'a/b' }),
        /gatewayId "a\/b" is not a valid MQTT topic level/,
      );
      await assert.rejects(
        MqttBridge.start({ ...base, gatewayId: 'g', cameras: [{ id: 'c+', name: 'x' }] }),
        RangeError,
      );
      await assert.rejects(MqttBridge.start({ ...base, gatewayId: 'g', baseTopic: 'a/#' }), /baseTopic/);
      await assert.rejects(
        MqttBridge.start({ ...base, gatewayId: 'g', url: 'http://127.0.0.1:1' }),
        /mqtt:\/\/ or mqtts:\/\//,
      );
      await assert.rejects(
        MqttBridge.start({ ...base, gatewayId: 'g', url: 'mqtt://u:hunter22@192.0.2.1:1883' }),
        (err: Error) =>
          err instanceof RangeError && /allowInsecure/.test(err.message) && !err.message.includes('hunter22'),
      );
      await assert.rejects(MqttBridge.start({ ...base, gatewayId: 'g', reconnectMs: 0 }), /reconnectMs/);
      await store.close();
    });

    it('refuses plain MQTT to a name that merely starts with 127 (mqtt://127.attacker.example)', () => {
      // The old copy of the loopback rule tested the host name with /^127\./ and let this through in plain text.
      // Checked on the option resolver, which is synchronous: a regression fails here instead of dialling out.
      for (const url of [
        'mqtt://127.attacker.example:1883',
        'mqtt://127.0.0.1.nip.io',
        'mqtt://localhost.evil.example',
      ]) {
        assert.throws(
          () => resolveBridgeOptions({ cameras, gatewayId: 'g', url }),
          (err: Error) => err instanceof RangeError && /plain MQTT to a non-loopback host/.test(err.message),
          url,
        );
      }
      for (const url of ['mqtt://127.0.0.1:1883', 'mqtt://[::1]:1883', 'mqtt://localhost:1883']) {
        assert.equal(resolveBridgeOptions({ cameras, gatewayId: 'g', url }).url, `${url}`);
      }
    });
  });

  describe('with mosquitto', () => {
    it('the last will marks the bridge offline, on its own gateway-id topic, when its socket is destroyed', async (t) => {
      const mq = await startMosquitto();
      t.after(() => mq.stop());
      const proxy = await startTcpProxy(mq.port);
      t.after(() => proxy.close());
      const store = await FlagStore.open({});
      t.after(() => store.close());
      const bridge = await bridgeUp(t, { store, url: proxy.url, gatewayId: 'porch-gw' });
      const w = await watch(mq.url, ['camgate/+/bridge']);
      t.after(() => w.close());
      await w.waitFor('camgate/porch-gw/bridge', (p) => p === 'online');
      const offline = once(bridge, 'offline');
      await proxy.cut(); // no DISCONNECT reaches the broker: MQTT 3.1.1 §3.1.2.5 will applies
      assert.equal(await w.waitFor('camgate/porch-gw/bridge', (p) => p === 'offline'), 'offline');
      assert.ok(!w.all.some((m) => m.topic !== 'camgate/porch-gw/bridge'), 'the will follows the gateway id');
      await offline;
      assert.equal(bridge.connected, false);
    });

    it('a flag raised while the broker is down arrives, current, after it restarts', async (t) => {
      const dir = await tempDir(t);
      const mq = await startMosquitto({ persistenceDir: dir });
      t.after(() => mq.stop());
      const store = await FlagStore.open({ clearAfterCleanScans: 1 });
      t.after(() => store.close());
      await store.raise(exposed('cam2', 80));
      const bridge = await bridgeUp(t, { store, url: mq.url });
      const before = await watch(mq.url, ['camgate/gw1/#']);
      await before.waitFor('camgate/gw1/cam2/exposure', (p) => p.includes('"exposed"'));
      await before.close();
      await mq.restart(async () => {
        if (bridge.connected) await once(bridge, 'offline');
        await store.reconcile(scope, [exposed('cam1')]); // cam1 raised, cam2 cleared, while offline
        await store.reconcile({ ...scope, cameraId: 'cam1' }, [exposed('cam1'), exposed('cam1', 8554)]);
      });
      await once(bridge, 'connected');
      const w = await watch(mq.url, ['camgate/gw1/#']);
      t.after(() => w.close());
      const flags = store.list();
      assert.equal(flags.length, 3);
      for (const f of flags) {
        const got = JSON.parse(await w.waitFor(`camgate/gw1/flags/${f.id}`)) as Flag;
        assert.deepEqual(got, f);
      }
      const cam1 = JSON.parse(await w.waitFor('camgate/gw1/cam1/exposure')) as ExposurePayload;
      assert.equal(cam1.flags.length, 2);
      const cam2 = JSON.parse(await w.waitFor('camgate/gw1/cam2/exposure')) as ExposurePayload;
      assert.equal(cam2.state, 'ok');
    });

    it('a restarted process republishes the state it persisted while no bridge ran', async (t) => {
      const dir = await tempDir(t);
      const mq = await startMosquitto();
      t.after(() => mq.stop());
      const path = join(dir, 'flags.jsonl');
      const s1 = await FlagStore.open({ path });
      const b1 = await MqttBridge.start({ store: s1, gatewayId: 'gw1', cameras, url: mq.url });
      await once(b1, 'connected');
      await b1.close();
      await s1.raise(exposed('cam1')); // the bridge is gone: only the journal knows
      await s1.close();
      const s2 = await FlagStore.open({ path });
      t.after(() => s2.close());
      await bridgeUp(t, { store: s2, url: mq.url });
      const w = await watch(mq.url, ['camgate/gw1/#']);
      t.after(() => w.close());
      const id = s2.list()[0]!.id;
      assert.equal((JSON.parse(await w.waitFor(`camgate/gw1/flags/${id}`)) as Flag).state, 'raised');
      assert.equal(await w.waitFor('camgate/gw1/bridge'), 'online');
      assert.equal((JSON.parse(await w.waitFor('camgate/gw1/cam1/exposure')) as ExposurePayload).state, 'exposed');
    });

    it('authenticates with a password file and never leaks the password', async (t) => {
      const dir = await tempDir(t);
      const password = 'Sup3r-s3cret-mqtt-pw';
      const mq = await startMosquitto({ passwordFile: await mosquittoPasswordFile(dir, 'camgate', password) });
      t.after(() => mq.stop());
      const store = await FlagStore.open({});
      t.after(() => store.close());
      await store.raise(exposed('cam1'));
      const sink = memorySink();
      const logger = createLogger('t', sink);
      const url = `mqtt://camgate:${password}@127.0.0.1:${mq.port}`;
      const bridge = await bridgeUp(t, { store, url, logger });
      assert.equal(bridge.brokerUrl, `mqtt://127.0.0.1:${mq.port}`);
      const w = await watch(mq.url, ['#'], { username: 'camgate', password });
      t.after(() => w.close());
      await w.waitFor('camgate/gw1/cam1/exposure');

      const bad = await MqttBridge.start({
        store,
        gatewayId: 'gw2',
        cameras,
        url: mq.url,
        username: 'camgate',
        password: 'wrong-password-123',
        logger,
      });
      t.after(() => bad.close());
      const [err] = (await once(bad, 'error')) as [CamgateError];
      assert.equal(err.code, 'CAMGATE_MQTT_AUTH');
      assert.equal(bad.connected, false);
      const everything = JSON.stringify(sink.records) + err.message + w.all.map((m) => m.payload).join('');
      assert.ok(!everything.includes(password), 'password in logs or payloads');
      assert.ok(!everything.includes('wrong-password-123'));
    });
  });
});
