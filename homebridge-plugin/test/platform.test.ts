/**
 * homebridge-camgate in a real Homebridge (2.x and 1.11), paired by
 * hap-controller over IP on loopback: accessories and services, an SRTP
 * stream that decrypts to the simulated camera's H.264, an exposure flag that
 * reaches the sensor as a HomeKit event, stop, and a broken camera entry.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { FlagStore, startCameraSim, startEmbeddedBroker } from '@camgate/core';
import { HttpClient } from 'hap-controller';
import mqtt from 'mqtt';
import { startIgdResponder } from '../../gateway-core/test/helpers/igd.js';
import { startSrtpReceiver } from '../../gateway-core/test/helpers/srtp-receiver.js';
import {
  parseSetupEndpointsResponse,
  selectedConfigTlv,
  setupEndpointsTlv,
  freePort,
  startHomebridge,
  type HomebridgeFlavour,
} from './helpers/homebridge.js';

// HAP service and characteristic types (HAP R2 §8, §9; short UUID forms as hap-controller reports them).
const SVC_RTP_STREAM = '00000110-0000-1000-8000-0026BB765291';
const SVC_CONTACT = '00000080-0000-1000-8000-0026BB765291';
const CH_SETUP_ENDPOINTS = '00000118-0000-1000-8000-0026BB765291';
const CH_SELECTED_CONFIG = '00000117-0000-1000-8000-0026BB765291';
const CH_CONTACT_STATE = '0000006A-0000-1000-8000-0026BB765291';
const CH_NAME = '00000023-0000-1000-8000-0026BB765291';
const CH_STATUS_TAMPERED = '0000007A-0000-1000-8000-0026BB765291';

interface HapChar {
  iid: number;
  type: string;
  value?: unknown;
}
interface HapService {
  iid: number;
  type: string;
  characteristics: HapChar[];
}
interface HapAccessory {
  aid: number;
  services: HapService[];
}

const norm = (t: string): string =>
  (t.length <= 8 ? `${t.padStart(8, '0')}-0000-1000-8000-0026BB765291` : t).toUpperCase();

function find(acc: HapAccessory, svc: string, ch: string): { aid: number; iid: number } {
  const s = acc.services.filter((x) => norm(x.type) === svc);
  const c = s.flatMap((x) => x.characteristics).find((x) => norm(x.type) === ch);
  if (!c) throw new Error(`no ${ch} in ${svc}`);
  return { aid: acc.aid, iid: c.iid };
}

const CAM = { username: 'admin', password: 'hb-cam-pass-93c1', width: 160, height: 96, fps: 25 };

for (const flavour of ['homebridge', 'homebridge-1'] as HomebridgeFlavour[]) {
  describe(`homebridge-camgate in ${flavour}`, () => {
    it(
      'lists cameras, snapshots, streams SRTP H.264, raises the sensor on a flag, stops, skips a broken entry',
      { timeout: 120_000 },
      async (t) => {
        const cam = await startCameraSim(CAM);
        t.after(() => cam.close());
        const broker = await startEmbeddedBroker();
        t.after(() => broker.close());
        // The router, on loopback: a UPnP mapping of an outside port to the camera, for the plugin's LAN audit.
        const igd = await startIgdResponder({
          mappings: [{ externalPort: 8554, protocol: 'TCP', internalPort: cam.port, internalClient: '127.0.0.1' }],
        });
        t.after(() => igd.close());
        const camUrl = cam.url;
        const hb = await startHomebridge(t, flavour, [
          {
            platform: 'Camgate',
            name: 'camgate',
            cameras: [
              { id: 'porch', name: 'Porch', url: camUrl, username: CAM.username, password: CAM.password },
              { id: 'bad one!', name: 'Broken', url: 'http://not-rtsp' },
            ],
            media: { interfaceAddress: '127.0.0.1' },
            exposure: { mqttUrl: broker.url },
            audit: { telnet: false, routerAddress: `127.0.0.1:${igd.ssdpPort}` },
            // A gateway whose hub is not there (a loopback port nobody listens on): it keeps retrying while its
            // warm players tell the camera's state, which the log shows on [camera] lines.
            hub: { url: `ws://127.0.0.1:${await freePort()}/tunnel`, gatewayId: 'gw1', secret: 'hb-gw-secret-2f9a' },
          },
        ]);
        // A broken camera entry: a clear line naming the field, and the bridge keeps running.
        await hb.waitForLine(/config: cameras\[1\]\.id: .*\(skipped\)/);
        await hb.waitForLine(/config: cameras\[1\]\.url: must be an rtsp/);
        await hb.waitForLine(/\[Porch\] added/);
        await hb.waitForLine(/\[Porch\] camera live/);
        await hb.waitForLine(/flags: subscribed to camgate\/\+\/flags\/\+/);

        // One persistent connection, as the Home app keeps: HAP-NodeJS ends a stream session when the
        // connection that set it up closes.
        const setupClient = new HttpClient(hb.username, '127.0.0.1', hb.port);
        await setupClient.pairSetup(hb.pin);
        const client = new HttpClient(hb.username, '127.0.0.1', hb.port, setupClient.getLongTermData()!, {
          usePersistentConnections: true,
          subscriptionsUseSameConnection: true,
        });
        t.after(() => client.close());
        const { accessories } = (await client.getAccessories()) as { accessories: HapAccessory[] };
        const camera = accessories.find((a) =>
          a.services.some((s) => s.characteristics.some((c) => norm(c.type) === CH_NAME && c.value === 'Porch')),
        );
        assert.ok(camera, 'the Porch accessory is listed');
        assert.equal(accessories.length, 3, 'the bridge, one camera (the broken entry is skipped) and the home sensor');
        assert.ok(camera.services.some((s) => norm(s.type) === SVC_RTP_STREAM));
        assert.ok(camera.services.some((s) => norm(s.type) === SVC_CONTACT));

        // Snapshot: no snapshot URL here, so FFmpeg decodes the warm stream's cached keyframe (and the log says so).
        await hb.waitForLine(/\[Porch\] added; snapshots from FFmpeg decoding the engine's cached keyframe/);
        const jpeg = await client.getImage(320, 180, camera.aid);
        assert.ok(jpeg.length > 100 && jpeg[0] === 0xff && jpeg[1] === 0xd8, 'a JPEG (SOI marker)');

        // Exposure: subscribe, raise a flag through MQTT as camgate's bridge publishes it, get the event.
        const contact = find(camera, SVC_CONTACT, CH_CONTACT_STATE);
        const initial = await client.getCharacteristics([`${contact.aid}.${contact.iid}`]);
        assert.equal((initial.characteristics as { value: number }[])[0]!.value, 0); // CONTACT_DETECTED = closed

        // The plugin's own LAN audit found the router's mapping to the camera: tampered, no MQTT involved.
        await hb.waitForLine(/flag upnp-mapping on porch: clear → raised/);
        const tampered = find(camera, SVC_CONTACT, CH_STATUS_TAMPERED);
        const t1 = await client.getCharacteristics([`${tampered.aid}.${tampered.iid}`]);
        assert.equal((t1.characteristics as { value: number }[])[0]!.value, 1); // TAMPERED
        // The home-wide sensor exists and stays closed: no flag names the whole home.
        const homeAcc = accessories.find((a) =>
          a.services.some((s) =>
            s.characteristics.some((c) => norm(c.type) === CH_NAME && c.value === 'Home network exposure'),
          ),
        );
        assert.ok(homeAcc, 'the Home network exposure accessory');
        const home = find(homeAcc, SVC_CONTACT, CH_CONTACT_STATE);
        const h1 = await client.getCharacteristics([`${home.aid}.${home.iid}`]);
        assert.equal((h1.characteristics as { value: number }[])[0]!.value, 0);
        const event = new Promise<unknown>((resolve) =>
          client.on('event', (ev: { characteristics: { aid: number; iid: number; value: unknown }[] }) => {
            const c = ev.characteristics.find((x) => x.aid === contact.aid && x.iid === contact.iid);
            if (c) resolve(c.value);
          }),
        );
        await client.subscribeCharacteristics([`${contact.aid}.${contact.iid}`]);
        const flags = await FlagStore.open({});
        const tr = await flags.raise({
          kind: 'exposed',
          gatewayId: 'gw1',
          cameraId: 'porch',
          key: '554',
          evidence: [{ host: '203.0.113.7', port: 554, protocol: 'rtsp', at: new Date().toISOString() }],
          advice: 'close port 554 on the router',
          source: 'hub',
        });
        const pub = await mqtt.connectAsync(broker.url);
        await pub.publishAsync(`camgate/gw1/flags/${tr!.flag.id}`, JSON.stringify(tr!.flag), { qos: 1, retain: true });
        await pub.endAsync();
        await flags.close();
        assert.equal(await event, 1); // CONTACT_NOT_DETECTED = open: the camera is exposed

        // Stream: SetupEndpoints then SelectedRTPStreamConfiguration, as the Home app writes them.
        const key = randomBytes(16);
        const salt = randomBytes(14);
        const rx = await startSrtpReceiver(t, Buffer.concat([key, salt]));
        const sessionId = Buffer.from(randomUUID().replace(/-/g, ''), 'hex');
        const setup = find(camera, SVC_RTP_STREAM, CH_SETUP_ENDPOINTS);
        const selected = find(camera, SVC_RTP_STREAM, CH_SELECTED_CONFIG);
        await client.setCharacteristics({
          [`${setup.aid}.${setup.iid}`]: setupEndpointsTlv({
            sessionId,
            address: '127.0.0.1',
            videoPort: rx.port,
            audioPort: rx.port,
            videoKey: key,
            videoSalt: salt,
          }),
        });
        const read = await client.getCharacteristics([`${setup.aid}.${setup.iid}`]);
        const resp = parseSetupEndpointsResponse((read.characteristics as { value: string }[])[0]!.value);
        assert.equal(resp.status, 0);
        await client.setCharacteristics({
          [`${selected.aid}.${selected.iid}`]: selectedConfigTlv({ sessionId, command: 1, payloadType: 99, mtu: 1000 }),
        });
        const aus = await rx.waitForAccessUnits(5);
        assert.equal(rx.rejected, 0, 'every packet authenticates with the negotiated key');
        assert.ok(aus[0]!.keyframe);
        assert.deepEqual(
          aus[0]!.nalus.slice(0, 2).map((n) => n[0]! & 0x1f),
          [7, 8],
        ); // SPS, PPS
        for (const p of rx.packets) {
          assert.equal(p.header.payloadType, 99);
          assert.equal(p.header.ssrc, resp.ssrc);
          assert.ok(p.wireBytes <= 1000);
        }

        // END_SESSION stops the packets.
        await client.setCharacteristics({
          [`${selected.aid}.${selected.iid}`]: selectedConfigTlv({ sessionId, command: 0 }),
        });
        await hb.waitForLine(/stream .* stopped/);
        await rx.waitForSilence(300);
        const count = rx.packets.length;
        await new Promise((r) => setTimeout(r, 300));
        assert.equal(rx.packets.length, count);

        // The camera password never reached the log.
        assert.ok(!hb.lines.join('\n').includes(CAM.password));
      },
    );
  });
}
