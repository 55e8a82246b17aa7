/**
 * MqttBridge through a transport the caller supplies (as the Node-RED nodes do with Node-RED's mqtt-broker
 * node), and the home-wide "Home network exposure" Home Assistant sensor. Real mosquitto on loopback.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter, once } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import { FlagStore } from '../../src/alerts/flag-store.js';
import { MqttBridge } from '../../src/alerts/mqtt-bridge.js';
import type { FlagObservation } from '../../src/alerts/flag.js';
import type { HomeExposurePayload } from '../../src/alerts/topics.js';
import type { HaBinarySensorConfig } from '../../src/alerts/ha-discovery.js';
import type { MqttTransport, MqttTransportEvents, MqttPublishOptions } from '../../src/alerts/mqtt-transport.js';
import { adviceFor } from '../../src/alerts/advice.js';
import { createLogger, memorySink } from '../../src/util/index.js';
import { startMosquitto } from '../helpers/mosquitto.js';
import { watch } from '../helpers/alerts.js';
import { within } from '../helpers/bounded.js';

type T = { after: (fn: () => unknown) => void };
const WAIT_MS = 20_000; // generous: the machine is shared and loaded
const cameras = [
  { id: 'cam1', name: 'Porch' },
  { id: 'cam2', name: 'Garage' },
];

function obs(cameraId: string | undefined, port: number): FlagObservation {
  return {
    kind: 'exposed',
    gatewayId: 'gw1',
    ...(cameraId !== undefined ? { cameraId } : {}),
    key: String(port),
    evidence: [
      { host: '203.0.113.7', port, protocol: 'rtsp', banner: 'RTSP/1.0 401 Unauthorized', at: '2025-01-01T00:00:00Z' },
    ],
    advice: adviceFor('exposed', { port, protocol: 'RTSP' }),
    source: 'hub',
  };
}

/**
 * A wrapper's transport: an mqtt.js client it created and owns (reconnecting by itself, no will), as a
 * Node-RED mqtt-broker node does. Only the MqttTransport face is visible to the bridge.
 */
class OwnedClientTransport extends EventEmitter<MqttTransportEvents> implements MqttTransport {
  readonly will = undefined;
  readonly label: string;
  client: MqttClient | undefined;
  constructor(readonly url: string) {
    super();
    this.label = url;
  }
  get connected(): boolean {
    return this.client?.connected === true;
  }
  start(): void {
    this.client = mqtt.connect(this.url, { protocolVersion: 4, reconnectPeriod: 100 });
    this.client.on('connect', () => this.emit('connect'));
    this.client.on('close', () => this.emit('disconnect'));
    this.client.on('error', () => undefined);
  }
  async publish(topic: string, payload: string, opts: MqttPublishOptions): Promise<void> {
    if (!this.connected) throw new Error('not connected');
    await this.client!.publishAsync(topic, payload, opts);
  }
  async close(): Promise<void> {
    await this.client?.endAsync(true);
  }
}

async function until(what: string, p: Promise<string>): Promise<string> {
  return within(p, WAIT_MS, what);
}

describe('MqttBridge transports', () => {
  it('publishes through a supplied transport; flags raised while it is down arrive when it reconnects', async (t: T) => {
    const mq = await startMosquitto();
    t.after(() => mq.stop());
    const store = await FlagStore.open({});
    t.after(() => store.close());
    await store.raise(obs('cam1', 554));
    const transport = new OwnedClientTransport(mq.url);
    const sink = memorySink();
    const bridge = await MqttBridge.start({
      store,
      gatewayId: 'gw1',
      cameras,
      transport,
      logger: createLogger('t', sink),
    });
    t.after(() => bridge.close());
    assert.equal(bridge.brokerUrl, mq.url);
    if (!bridge.connected) await within(once(bridge, 'connected'), WAIT_MS, 'first connect');
    // The wrapper's connection has no will on the bridge topic: the bridge says what a crash would leave.
    assert.ok(sink.records.some((r) => r.level === 'warn' && /no retained will/.test(r.msg)));

    const offline = within(once(bridge, 'offline'), WAIT_MS, 'offline');
    const back = once(bridge, 'connected');
    await mq.restart(async () => {
      await offline;
      await store.raise(obs(undefined, 8554)); // home-wide: the hub could not tell which camera answers
      await store.raise(obs('cam2', 80));
    });
    await within(back, WAIT_MS, 'reconnect');
    const w = await watch(mq.url, ['camgate/gw1/#']);
    t.after(() => w.close());
    for (const f of store.list()) {
      const got = JSON.parse(await until(f.id, w.waitFor(`camgate/gw1/flags/${f.id}`)));
      assert.equal(got.state, 'raised');
    }
    const home = JSON.parse(
      await until('home exposure', w.waitFor('camgate/gw1/home-exposure')),
    ) as HomeExposurePayload;
    assert.equal(home.state, 'exposed');
    assert.equal(home.details.length, 1);
    assert.equal(home.details[0]!.evidence[0]!.port, 8554);
    // A home-wide flag puts every camera at risk: both per-camera sensors show it.
    for (const cam of ['cam1', 'cam2'])
      assert.equal(JSON.parse(await until(cam, w.waitFor(`camgate/gw1/${cam}/exposure`))).state, 'exposed');
    assert.ok(
      w.all.every((m) => m.retain),
      'all retained',
    );
  });

  it('refuses a transport together with a URL or credentials', async () => {
    const store = await FlagStore.open({});
    const transport = new OwnedClientTransport('mqtt://127.0.0.1:1');
    for (const extra of [{ url: 'mqtt://127.0.0.1:1883' }, { password: 'x' }, { embeddedPort: 1 }]) {
      await assert.rejects(
        MqttBridge.start({ store, gatewayId: 'g', cameras, transport, ...extra }),
        (err: Error) => err instanceof RangeError && /must be unset when a transport is given/.test(err.message),
      );
    }
    assert.equal(transport.client, undefined, 'nothing was started');
    await store.close();
  });
});

describe('Home Assistant "Home network exposure" sensor', () => {
  it('is announced retained with availability, and is ON with evidence and advice while a home-wide flag is raised', async (t: T) => {
    const mq = await startMosquitto();
    t.after(() => mq.stop());
    const store = await FlagStore.open({ clearAfterCleanScans: 1 });
    t.after(() => store.close());
    const bridge = await MqttBridge.start({ store, gatewayId: 'gw1', gatewayName: 'Home', cameras, url: mq.url });
    t.after(() => bridge.close());
    if (!bridge.connected) await within(once(bridge, 'connected'), WAIT_MS, 'connect');
    // A subscriber that arrives later reads the retained discovery config, as Home Assistant does on start.
    const w = await watch(mq.url, ['homeassistant/binary_sensor/#', 'camgate/gw1/#']);
    t.after(() => w.close());
    const topic = 'homeassistant/binary_sensor/camgate-home_gw1/config';
    const c = JSON.parse(await until('home discovery', w.waitFor(topic))) as HaBinarySensorConfig;
    assert.equal(c.name, 'Home network exposure');
    assert.equal(c.device_class, 'problem');
    assert.equal(c.unique_id, 'camgate-home_gw1');
    assert.equal(c.object_id, topic.split('/')[2]);
    assert.equal(c.state_topic, 'camgate/gw1/home-exposure');
    assert.equal(c.json_attributes_topic, c.state_topic);
    assert.deepEqual(
      c.availability.map((a) => a.topic),
      ['camgate/gw1/status', 'camgate/gw1/bridge'],
    );
    assert.equal(c.availability_mode, 'all');
    assert.deepEqual(c.device.identifiers, ['camgate_gw1']);
    assert.ok(w.all.find((m) => m.topic === topic)?.retain, 'discovery config is retained');
    const cam = JSON.parse(
      await until('cam1 discovery', w.waitFor('homeassistant/binary_sensor/camgate_gw1_cam1/config')),
    );
    assert.notEqual(cam.unique_id, c.unique_id);
    assert.equal(JSON.parse(await until('home ok', w.waitFor(c.state_topic))).state, 'ok');

    const scope = { source: 'hub' as const, gatewayId: 'gw1', kinds: ['exposed' as const] };
    const [raised] = await store
      .reconcile(scope, [obs(undefined, 8554), obs('cam1', 554)])
      .then((tr) => tr.filter((x) => x.flag.cameraId === undefined));
    const on = JSON.parse(
      await until(
        'home ON',
        w.waitFor(c.state_topic, (p) => JSON.parse(p).state !== 'ok'),
      ),
    ) as HomeExposurePayload;
    assert.deepEqual(on.flags, [raised!.flag.id], 'only the home-wide flag, not the camera one');
    const d = on.details[0]!;
    assert.equal(d.kind, 'exposed');
    assert.match(d.advice, /8554/);
    assert.equal(d.evidence[0]!.banner, 'RTSP/1.0 401 Unauthorized');
    // HA's template, evaluated the way HA would: ON.
    assert.match(c.value_template, /value_json\.state in \['exposed', 'at-risk'\]/);

    await store.reconcile(scope, []);
    const off = JSON.parse(
      await until(
        'home OFF',
        w.waitFor(c.state_topic, (p) => JSON.parse(p).state === 'ok'),
      ),
    ) as HomeExposurePayload;
    assert.deepEqual([off.flags, off.details], [[], []]);
  });
});
