/** Cache reconciliation across a Homebridge restart: kept cameras restored, removed ones unregistered. */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { HttpClient } from 'hap-controller';
import { startHomebridge } from './helpers/homebridge.js';

const camera = (id: string, name: string) => ({ id, name, url: `rtsp://127.0.0.1:9/${id}` });
// No LAN audit: it would ask the LAN's router by multicast, and tests stay on loopback.
const platform = (cameras: unknown[]) => ({ platform: 'Camgate', name: 'camgate', cameras, audit: false });

describe('Camgate platform cache', () => {
  it('restores a kept camera and unregisters a removed one after a restart', { timeout: 90_000 }, async (t) => {
    const storage = await mkdtemp(join(tmpdir(), 'camgate-hb-cache-'));
    t.after(() => rm(storage, { recursive: true, force: true }));
    const reuse = { storage, username: '0E:CA:FE:00:00:01' };
    const first = await startHomebridge(
      t,
      'homebridge',
      [platform([camera('porch', 'Porch'), camera('garage', 'Garage')])],
      reuse,
    );
    await first.waitForLine(/\[Garage\] added/);
    await first.waitForLine(/\[Porch\] added/);
    await first.stop();

    const second = await startHomebridge(t, 'homebridge', [platform([camera('porch', 'Porch')])], reuse);
    await second.waitForLine(/\[Porch\] restored/);
    await second.waitForLine(/removed 1 camera\(s\) no longer configured/);
    const client = new HttpClient(reuse.username, '127.0.0.1', second.port);
    t.after(() => client.close());
    await client.pairSetup(second.pin);
    const { accessories } = (await client.getAccessories()) as { accessories: unknown[] };
    assert.equal(accessories.length, 3); // the bridge, Porch and the home network exposure sensor
    assert.ok(!second.lines.some((l) => /Garage/.test(l) && !/removed/.test(l)));
  });
});
