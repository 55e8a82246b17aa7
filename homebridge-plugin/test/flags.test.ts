/**
 * A HomeKit-only user with a hub and no MQTT, in a real Homebridge 2 paired by hap-controller: the flag the
 * hub's outside monitor raises for this plugin's gateway reaches the sensors through the plugin's own
 * gateway (FlagService), and a flag of the whole home — a camera service answers on the home's address,
 * but the hub cannot tell which camera — opens every camera's sensor (core's MqttBridge rule) and the
 * home-wide "Home network exposure" sensor.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Hub, makeVerifier, startCameraSim } from '@camgate/core';
import { HttpClient } from 'hap-controller';
import { startRtspServer } from '../../gateway-core/test/helpers/exposure.js';
import { freePort, startHomebridge } from './helpers/homebridge.js';

const SVC_CONTACT = '00000080-0000-1000-8000-0026BB765291';
const CH_CONTACT_STATE = '0000006A-0000-1000-8000-0026BB765291';
const CH_NAME = '00000023-0000-1000-8000-0026BB765291';

interface HapChar {
  iid: number;
  type: string;
  value?: unknown;
}
interface HapAccessory {
  aid: number;
  services: { iid: number; type: string; characteristics: HapChar[] }[];
}

const norm = (t: string): string =>
  (t.length <= 8 ? `${t.padStart(8, '0')}-0000-1000-8000-0026BB765291` : t).toUpperCase();

/** `aid.iid` of the ContactSensorState of the contact sensor named `name`. */
function contactOf(accessories: HapAccessory[], name: string): string {
  for (const a of accessories)
    for (const s of a.services) {
      if (norm(s.type) !== SVC_CONTACT) continue;
      if (!s.characteristics.some((c) => norm(c.type) === CH_NAME && c.value === name)) continue;
      const c = s.characteristics.find((x) => norm(x.type) === CH_CONTACT_STATE);
      if (c) return `${a.aid}.${c.iid}`;
    }
  throw new Error(`no contact sensor named ${name}`);
}

const GATEWAY_ID = 'home';
const SECRET = 'hb-flags-secret-4c7e1a';
const CAM = { username: 'admin', password: 'hb-flags-cam-pass-2b8d', width: 160, height: 96, fps: 25 };

describe('homebridge-camgate: its own gateway drives its sensors without MQTT', () => {
  it('a home-wide flag from the hub opens every camera sensor and the home sensor', { timeout: 150_000 }, async (t) => {
    const cam = await startCameraSim(CAM);
    t.after(() => cam.close());
    // A camera service answering on the home's address (loopback here) that is none of the configured cameras.
    const stray = await startRtspServer({ mode: 'open' });
    t.after(() => stray.close());
    const hub = await Hub.start({
      listen: { host: '127.0.0.1', port: 0 },
      kurento: { host: '127.0.0.1', port: 0 },
      gateways: [{ id: GATEWAY_ID, name: 'Home', secretHash: await makeVerifier(SECRET) }],
      exposure: { engine: 'builtin', ports: [stray.port], scanOnConnect: false },
    });
    t.after(() => hub.close());
    const hb = await startHomebridge(t, 'homebridge', [
      {
        platform: 'Camgate',
        name: 'camgate',
        cameras: [
          { id: 'porch', name: 'Porch', url: cam.url, username: CAM.username, password: CAM.password },
          { id: 'garden', name: 'Garden', url: `rtsp://127.0.0.1:${await freePort()}/s` },
        ],
        media: { interfaceAddress: '127.0.0.1' },
        hub: { url: hub.tunnelUrl, gatewayId: GATEWAY_ID, secret: SECRET },
        audit: false,
      },
    ]);
    await hb.waitForLine(/hub: connected/);

    const setup = new HttpClient(hb.username, '127.0.0.1', hb.port);
    await setup.pairSetup(hb.pin);
    const client = new HttpClient(hb.username, '127.0.0.1', hb.port, setup.getLongTermData()!, {
      usePersistentConnections: true,
      subscriptionsUseSameConnection: true,
    });
    t.after(() => client.close());
    const { accessories } = (await client.getAccessories()) as { accessories: HapAccessory[] };
    const sensors = {
      porch: contactOf(accessories, 'Porch exposure'),
      garden: contactOf(accessories, 'Garden exposure'),
      home: contactOf(accessories, 'Home network exposure'),
    };
    const read = async (): Promise<Record<keyof typeof sensors, unknown>> => {
      const r = await client.getCharacteristics(Object.values(sensors));
      const byId = new Map(
        (r.characteristics as { aid: number; iid: number; value: unknown }[]).map((c) => [
          `${c.aid}.${c.iid}`,
          c.value,
        ]),
      );
      return { porch: byId.get(sensors.porch), garden: byId.get(sensors.garden), home: byId.get(sensors.home) };
    };
    assert.deepEqual(await read(), { porch: 0, garden: 0, home: 0 }); // all closed

    // The outside monitor scans the home's address: the stray service answers, a home-wide `exposed` flag.
    await hub.exposure!.scanNow(GATEWAY_ID);
    const [raised] = hub.exposure!.store.list({ state: 'raised' });
    assert.ok(raised, 'the hub raised a flag');
    assert.equal(raised.cameraId, undefined, 'the hub cannot tell which camera answers');
    await hb.waitForLine(/flag exposed on the home network: clear → raised/);
    // CONTACT_NOT_DETECTED (1) = open, on every camera and on the home sensor.
    assert.deepEqual(await read(), { porch: 1, garden: 1, home: 1 });
    assert.ok(!hb.lines.join('\n').includes(CAM.password));
    assert.ok(!hb.lines.join('\n').includes(SECRET));
  });
});
