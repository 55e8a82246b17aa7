'use strict';
/**
 * camgate-mqtt-bridge against a real mosquitto and a real hub, once per Node-RED major (mqtt-bridge-nr4/5):
 * the node publishes through core's MqttBridge, either by itself (URL) or through Node-RED's own
 * mqtt-broker config node (core 10-mqtt.js, loaded from the Node-RED under test).
 */
const { describe, it, before, after, afterEach } = require('node:test');
const assert = require('node:assert/strict');
const helper = require('node-red-node-test-helper');
const fx = require('./fixtures.js');
const { startMosquitto, subscriber } = require('./mosquitto.js');

const NODES = ['camgate-camera', 'camgate-gateway', 'camgate-mqtt-bridge'].map((n) => require(`../../nodes/${n}.js`));
const GW = fx.GATEWAY_ID;
const SECRETS = [fx.GATEWAY_SECRET, fx.CAMERA_PASSWORD, fx.CAMERA_USER];
const WAIT_MS = 30_000; // generous: the machine is shared and loaded

function flow(hubUrl, mq, mode, { will = true } = {}) {
  const viaNode = mode === 'mqtt-broker node';
  const out = [
    {
      id: 'cam1',
      type: 'camgate-camera',
      name: 'Front door',
      cameraId: 'front-door',
      url: 'rtsp://127.0.0.1:9/stream1', // nothing answers: the camera is unreachable, which is fine here
      host: '127.0.0.1',
    },
    {
      id: 'gw1',
      type: 'camgate-gateway',
      name: 'Home',
      hubUrl,
      gatewayId: GW,
      backend: 'engine',
      cameras: ['cam1'],
      keepWarm: false,
      persistFlags: false,
    },
    {
      id: 'mq',
      type: 'camgate-mqtt-bridge',
      gateway: 'gw1',
      url: viaNode ? '' : mq.url,
      broker: viaNode ? 'b1' : '',
      baseTopic: 'camgate',
      homeAssistant: true,
    },
  ];
  if (viaNode) {
    out.push({
      id: 'b1',
      type: 'mqtt-broker',
      broker: '127.0.0.1',
      port: String(mq.port),
      clientid: '',
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      ...(will ? { willTopic: `camgate/${GW}/bridge`, willPayload: 'offline', willQos: '1', willRetain: 'true' } : {}),
    });
  }
  return out;
}

function homeWideFlag(port) {
  return {
    kind: 'exposed',
    gatewayId: GW,
    key: String(port),
    evidence: [{ host: '203.0.113.9', port, protocol: 'rtsp', banner: 'RTSP/1.0 401', at: new Date().toISOString() }],
    advice: `Port ${port} answers from the internet; remove the port forward.`,
    source: 'hub',
  };
}

/** Messages the node sent to node.warn (the helper spies on Node.prototype). */
function warnings(node) {
  return node.warn
    .getCalls()
    .filter((c) => c.thisValue === node)
    .map((c) => String(c.args[0]));
}

function defineMqttTests(nodeRedPackage) {
  describe(`camgate-mqtt-bridge with mosquitto on ${nodeRedPackage}`, () => {
    let env;
    let mq;
    const subs = [];
    const sub = async (filters) => {
      const s = await subscriber(mq.url, filters);
      subs.push(s);
      return s;
    };
    const nodes = () => [
      ...NODES,
      require(require.resolve('@node-red/nodes/core/network/10-mqtt.js', { paths: [require.resolve(nodeRedPackage)] })),
    ];
    before(async () => {
      // The broker node retries every mqttReconnectTime (5 s by default); keep the restart test short.
      helper.init(require.resolve(nodeRedPackage), { mqttReconnectTime: 300 });
      env = await fx.startHub();
      mq = await startMosquitto();
    });
    after(async () => {
      await mq.stop();
      await env.hub.close();
    });
    afterEach(async () => {
      await helper.unload();
      // Each test starts from an empty broker: clear what the last one left retained (MQTT 3.1.1 §3.3.1.3:
      // a zero-byte retained message removes the retained one).
      const topics = new Set(subs.flatMap((s) => s.all.filter((m) => m.payload !== '').map((m) => m.topic)));
      const mqtt = await import('mqtt');
      const cleaner = await mqtt.connectAsync(mq.url, { protocolVersion: 4, reconnectPeriod: 0 });
      await Promise.all([...topics].map((t) => cleaner.publishAsync(t, '', { qos: 1, retain: true })));
      await cleaner.endAsync();
      await Promise.all(subs.splice(0).map((s) => s.close()));
    });

    for (const mode of ['direct URL', 'mqtt-broker node']) {
      it(`publishes per-camera and home-wide flags retained; a flag raised while the broker is down arrives after it returns (${mode})`, async () => {
        const live = await sub([`camgate/${GW}/#`]);
        await helper.load(nodes(), flow(env.tunnelUrl, mq, mode), {
          cam1: { username: fx.CAMERA_USER, password: fx.CAMERA_PASSWORD },
          gw1: { secret: fx.GATEWAY_SECRET },
        });
        const runtime = helper.getNode('gw1').runtime;
        await runtime.ready;
        // Availability: the bridge runs, and the hub accepted the tunnel.
        await live.waitFor(`camgate/${GW}/bridge`, (p) => p === 'online', WAIT_MS);
        await live.waitFor(`camgate/${GW}/status`, (p) => p === 'online', WAIT_MS);
        assert.deepEqual(warnings(helper.getNode('mq')), [], 'no warning (the broker node has the bridge will)');

        await runtime.store.raise({
          kind: 'telnet-open',
          gatewayId: GW,
          cameraId: 'front-door',
          key: 'port-23',
          evidence: [{ host: '127.0.0.1', port: 23, at: new Date().toISOString() }],
          advice: 'turn telnet off',
          source: 'gateway',
        });
        await runtime.store.raise(homeWideFlag(8554));
        const camTopic = `camgate/${GW}/front-door/exposure`;
        // The home-wide flag turns the camera's sensor to exposed as well (core's rule, no drift).
        await live.waitFor(camTopic, (p) => JSON.parse(p).state === 'exposed', WAIT_MS);
        await live.waitFor(`camgate/${GW}/home-exposure`, (p) => JSON.parse(p).state === 'exposed', WAIT_MS);

        // A subscriber arriving now (as Home Assistant after a restart) gets everything retained.
        const late = await sub([`camgate/${GW}/#`, 'homeassistant/#']);
        const flags = runtime.store.list();
        assert.equal(flags.length, 2);
        for (const f of flags) {
          const m = await late.waitFor(`camgate/${GW}/flags/${f.id}`, () => true, WAIT_MS);
          assert.ok(m.retain, `${f.id} retained`);
          assert.equal(JSON.parse(m.payload).state, 'raised');
        }
        const cam = await late.waitFor(camTopic, () => true, WAIT_MS);
        assert.ok(cam.retain);
        assert.equal(JSON.parse(cam.payload).state, 'exposed');
        const home = await late.waitFor(`camgate/${GW}/home-exposure`, () => true, WAIT_MS);
        assert.ok(home.retain);
        const homePayload = JSON.parse(home.payload);
        assert.equal(homePayload.details[0].evidence[0].port, 8554);
        assert.match(homePayload.details[0].advice, /port forward/);
        const camConfig = await late.waitFor(`homeassistant/binary_sensor/camgate_${GW}_front-door/config`);
        const homeConfig = await late.waitFor(`homeassistant/binary_sensor/camgate-home_${GW}/config`);
        assert.ok(camConfig.retain && homeConfig.retain);
        const hc = JSON.parse(homeConfig.payload);
        assert.equal(hc.name, 'Home network exposure');
        assert.equal(hc.device_class, 'problem');
        assert.equal(hc.availability_mode, 'all');
        assert.deepEqual(
          hc.availability.map((a) => a.topic),
          [`camgate/${GW}/status`, `camgate/${GW}/bridge`],
        );
        assert.deepEqual(JSON.parse(camConfig.payload).availability, hc.availability);

        // The broker goes away; a flag raised meanwhile is delivered when it is back.
        const mqNode = helper.getNode('mq');
        const republished = new Promise((resolve) => mqNode.once('camgate:published', resolve));
        let downId;
        await mq.restart(async () => {
          await new Promise((r) => setTimeout(r, 200));
          const tr = await runtime.store.raise(homeWideFlag(9000));
          downId = tr.flag.id;
        });
        await Promise.race([
          republished,
          new Promise((_, reject) => setTimeout(() => reject(new Error('no republish after restart')), WAIT_MS)),
        ]);
        const after = await sub([`camgate/${GW}/#`]);
        const down = await after.waitFor(`camgate/${GW}/flags/${downId}`, () => true, WAIT_MS);
        assert.ok(down.retain);
        assert.equal(JSON.parse(down.payload).state, 'raised');
        const home2 = await after.waitFor(`camgate/${GW}/home-exposure`, (p) => p.includes(downId), WAIT_MS);
        assert.equal(JSON.parse(home2.payload).flags.length, 2);
        for (const s of subs)
          for (const m of s.all) for (const secret of SECRETS) assert.ok(!m.payload.includes(secret));

        // A clean stop says the bridge is gone (through the broker node, its close message may carry it).
        const bridgeOff = live.waitFor(`camgate/${GW}/bridge`, (p) => p === 'offline', WAIT_MS);
        const statusOff = live.waitFor(`camgate/${GW}/status`, (p) => p === 'offline', WAIT_MS);
        await helper.unload();
        await bridgeOff;
        if (mode === 'direct URL') await statusOff;
        else statusOff.catch(() => undefined);
      });
    }

    it('follows the broker node to its new client after a disconnect/connect control action (mqtt-broker node)', async () => {
      const f = flow(env.tunnelUrl, mq, 'mqtt-broker node');
      // An mqtt-in node in dynamic mode (one input) is how a flow tells the broker node to disconnect and
      // connect again (core 10-mqtt.js "action"); the broker node then creates a new mqtt.js client.
      f.push({ id: 'in1', type: 'mqtt in', broker: 'b1', topic: '', qos: '1', datatype: 'auto', inputs: 1, wires: [] });
      await helper.load(nodes(), f, { gw1: { secret: fx.GATEWAY_SECRET } });
      const runtime = helper.getNode('gw1').runtime;
      await runtime.ready;
      const live = await sub([`camgate/${GW}/#`]);
      await live.waitFor(`camgate/${GW}/bridge`, (p) => p === 'online', WAIT_MS);
      const broker = helper.getNode('b1');
      const first = broker.client;
      const inNode = helper.getNode('in1');
      const act = (action) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`no ${action}`)), WAIT_MS);
          const check = () => {
            const done = action === 'disconnect' ? !broker.connected : broker.connected && broker.client !== first;
            if (done) {
              clearTimeout(timer);
              resolve();
            } else setTimeout(check, 20);
          };
          inNode.receive({ action });
          check();
        });
      await act('disconnect');
      const tr = await runtime.store.raise(homeWideFlag(7447)); // raised while the broker node is disconnected
      const republished = new Promise((resolve) => helper.getNode('mq').once('camgate:published', resolve));
      await act('connect');
      await Promise.race([
        republished,
        new Promise((_, reject) => setTimeout(() => reject(new Error('no republish on the new client')), WAIT_MS)),
      ]);
      const m = await live.waitFor(`camgate/${GW}/flags/${tr.flag.id}`, () => true, WAIT_MS);
      assert.equal(JSON.parse(m.payload).state, 'raised');
    });

    it('keeps status offline while the hub refuses the gateway, and warns about a broker node without the bridge will', async () => {
      const live = await sub([`camgate/${GW}/#`]);
      await helper.load(nodes(), flow(env.tunnelUrl, mq, 'mqtt-broker node', { will: false }), {
        gw1: { secret: 'not-the-gateway-secret-9Qx' },
      });
      const runtime = helper.getNode('gw1').runtime;
      await runtime.ready;
      if (runtime.state !== 'refused')
        await Promise.race([
          fx.waitFor(runtime, 'status', (s) => s === 'refused'),
          new Promise((_, reject) => setTimeout(() => reject(new Error('not refused')), WAIT_MS)),
        ]);
      await live.waitFor(`camgate/${GW}/bridge`, (p) => p === 'online', WAIT_MS);
      const status = await live.waitFor(`camgate/${GW}/status`, () => true, WAIT_MS);
      assert.equal(status.payload, 'offline');
      assert.ok(!live.all.some((m) => m.topic.endsWith('/status') && m.payload === 'online'));
      assert.ok(warnings(helper.getNode('mq')).includes('camgate-mqtt-bridge.warn.will'));
    });
  });
}

module.exports = { defineMqttTests };
