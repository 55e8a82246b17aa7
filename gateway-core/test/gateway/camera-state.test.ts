/**
 * The gateway's camera states (issue 11) from its warm players on the built-in engine, as the Gateway's
 * `cameraState` event and on MQTT (mosquitto): retained state JSON, availability, Home Assistant
 * connectivity discovery. A real simulated camera goes away and comes back. Loopback only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { FlagService, type GatewayCameraState } from '../../src/gateway/index.js';
import { startCameraSim, type CameraSim } from '../../src/rtsp/index.js';
import { startStack, GATEWAY_ID, type Stack } from '../helpers/stack.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { watch, type Watcher } from '../helpers/alerts.js';

const PASSWORD = 'state-cam-pass-55x';

async function until(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return;
    await sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('Gateway cameraState', () => {
  let sim: CameraSim;
  let stack: Stack;
  let mq: Mosquitto;
  let flags: FlagService;
  let watcher: Watcher;
  const seen: GatewayCameraState[] = [];
  before(async () => {
    sim = await startCameraSim({ username: 'admin', password: PASSWORD, width: 160, height: 96, gopSeconds: 1 });
    mq = await startMosquitto();
    watcher = await watch(mq.url, [`camgate/${GATEWAY_ID}/#`, 'homeassistant/binary_sensor/#']);
    stack = await startStack({
      cameras: [
        { id: 'porch', name: 'Porch', url: sim.url, username: 'admin', password: PASSWORD },
        { id: 'shed', name: 'Shed', url: sim.url, username: 'admin', password: 'wrong-pass-for-shed' },
      ],
      gateway: { keepWarm: undefined }, // the default, 'auto': warm players on the built-in engine
    });
    seen.push(...stack.gateway.cameraStates); // what happened while the stack started
    stack.gateway.on('cameraState', (s) => seen.push(s));
    flags = await FlagService.create({
      gatewayId: GATEWAY_ID,
      // The bridge announces each camera to Home Assistant; no credentials here.
      cameras: [
        { id: 'porch', name: 'Porch', url: sim.url },
        { id: 'shed', name: 'Shed', url: sim.url },
      ],
      audit: false,
      control: stack.gateway,
      mqtt: { url: mq.url },
    });
  });
  after(async () => {
    await flags?.close();
    await stack?.close();
    await watcher?.close();
    await mq?.stop();
    await sim?.close();
  });

  it('reports live, then lost — reconnecting, then live again, on the event and on MQTT', async () => {
    const topic = `camgate/${GATEWAY_ID}/porch`;
    await until('porch live', () => seen.some((s) => s.cameraId === 'porch' && s.state === 'live'));
    const live = JSON.parse(await watcher.waitFor(`${topic}/state`, (p) => JSON.parse(p).state === 'live'));
    assert.match(live.updatedAt, /^\d{4}-\d\d-\d\dT/);
    await watcher.waitFor(`${topic}/availability`, (p) => p === 'online');
    const mark = seen.length;
    await sim.stop();
    try {
      await until('porch reconnecting', () =>
        seen.slice(mark).some((s) => s.cameraId === 'porch' && s.state === 'reconnecting'),
      );
      await watcher.waitFor(`${topic}/availability`, (p) => p === 'offline');
    } finally {
      await sim.resume();
    }
    await until('porch live again', () => seen.slice(mark).some((s) => s.cameraId === 'porch' && s.state === 'live'));
    const porch = seen.filter((s) => s.cameraId === 'porch').map((s) => s.state);
    assert.deepEqual(porch.slice(porch.indexOf('live')), ['live', 'reconnecting', 'live']);
    // The retained topics end current (the MQTT publish may land just after the event).
    await until('availability online again', () => watcher.last.get(`${topic}/availability`) === 'online');
    assert.equal(JSON.parse(watcher.last.get(`${topic}/state`)!).state, 'live');
    const lines = stack.logs.filter((r) => r.msg.startsWith('camera ') && r.component.includes('gateway'));
    assert.ok(
      lines.length > 0 && lines.every((r) => typeof r.fields.camera === 'string'),
      'gateway camera lines name the camera',
    );
  });

  it('reports a wrong password as unreachable with the reason, never the password', async () => {
    await until('shed unreachable', () => seen.some((s) => s.cameraId === 'shed' && s.state === 'unreachable'));
    assert.equal(seen.find((s) => s.cameraId === 'shed' && s.state === 'unreachable')?.reason, 'wrong password');
    const state = JSON.parse(
      await watcher.waitFor(`camgate/${GATEWAY_ID}/shed/state`, (p) => JSON.parse(p).state === 'unreachable'),
    );
    assert.equal(state.reason, 'wrong password');
    await until('shed offline', () => watcher.last.get(`camgate/${GATEWAY_ID}/shed/availability`) === 'offline');
    const warn = stack.logs.find((r) => r.msg === 'camera unreachable' && r.fields.camera === 'shed');
    assert.equal(warn?.level, 'warn');
    const everything = JSON.stringify([watcher.all, stack.logs, seen]);
    assert.ok(!everything.includes('wrong-pass-for-shed') && !everything.includes(PASSWORD));
  });

  it('announces a Home Assistant connectivity sensor per camera, available with the gateway', async () => {
    const raw = await watcher.waitFor(
      `homeassistant/binary_sensor/camgate_${GATEWAY_ID.replace(/-/g, '-')}_porch_camera/config`,
    );
    const config = JSON.parse(raw);
    assert.equal(config.device_class, 'connectivity');
    assert.equal(config.state_topic, `camgate/${GATEWAY_ID}/porch/state`);
    assert.deepEqual(
      config.availability.map((a: { topic: string }) => a.topic),
      [`camgate/${GATEWAY_ID}/status`, `camgate/${GATEWAY_ID}/bridge`],
    );
    assert.equal(config.availability_mode, 'all');
    // The stack's gateway holds an accepted tunnel: status says so (it follows the hub connection).
    await until('status online', () => watcher.last.get(`camgate/${GATEWAY_ID}/status`) === 'online');
    assert.equal(config.value_template, "{{ 'ON' if value_json.state == 'live' else 'OFF' }}");
  });
});
