/**
 * A hub restart with many homes (issue 17, the small brother of `npm run
 * bench:hub`): 20 real gateways with 4 cameras each dial a real hub (TLS,
 * certificate pinned); the hub is closed and a new one starts on the same
 * port with the same gateways, as after a deploy. Every gateway comes back by
 * itself, and a signed-in page connected to the new hub while they return
 * gets a few coalesced camera lists — not one per gateway — ending with
 * every camera it may see online. No timing assertions: every wait is bounded.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Gateway, Hub, hashSecret, makeVerifier } from '@camgate/core';
import { makeSelfSignedCert, until } from '@camgate/test-helpers';

const HOMES = 20;
const CAMERAS = 4;
const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4-storm' };

interface Home {
  id: string;
  secret: string;
  gateway?: Gateway;
  connects: number;
}

describe('hub restart with 20 homes', () => {
  it('brings every gateway back by itself and gives a page a few camera lists ending all online', async (t: TestContext) => {
    const cert = makeSelfSignedCert();
    const homes: Home[] = Array.from({ length: HOMES }, (_, i) => ({
      id: `storm-home-${i}`,
      secret: `storm-secret-${i}-Zq8Lm2vXc8HnB4pK`,
      connects: 0,
    }));
    const gateways: { id: string; name: string; secretHash: string }[] = await Promise.all(
      homes.map(async (h) => ({ id: h.id, name: h.id, secretHash: await makeVerifier(h.secret) })),
    );
    // Granted two homes' cameras: the page's list changes as those two come back.
    const users = [
      {
        name: ALICE.name,
        passwordHash: await hashSecret(ALICE.password),
        cameras: ['storm-home-3/*', 'storm-home-17/*'],
      },
    ];
    const startHub = (port: number): Promise<Hub> =>
      Hub.start({
        listen: { host: '127.0.0.1', port },
        kurento: { port: 0 },
        tls: { cert: cert.cert, key: cert.key },
        gateways,
        viewer: { users },
      });
    let hub = await startHub(0);
    const port = Number(new URL(hub.url).port);
    t.after(async () => {
      await Promise.all(homes.map((h) => h.gateway?.close()));
      await hub.close();
    });

    for (const [i, h] of homes.entries()) {
      h.gateway = Gateway.start({
        hub: { url: hub.tunnelUrl, gatewayId: h.id, secret: h.secret, tls: { fingerprint256: cert.fingerprint256 } },
        mediaBackendUrl: 'ws://127.0.0.1:9/kurento', // nothing is played here
        cameras: Array.from({ length: CAMERAS }, (_, c) => ({
          id: `cam${c + 1}`,
          name: `Home ${i} camera ${c + 1}`,
          url: `rtsp://127.0.0.1:9/home${i}/cam${c + 1}`,
        })),
        keepWarm: false,
      });
      h.gateway.on('state', (s) => {
        if (s === 'connected') h.connects++;
      });
    }
    await until(
      () => homes.filter((x) => x.connects === 1).length,
      (n) => n === HOMES,
      120_000,
      'all homes online',
    );

    // The storm: the hub goes, a new one comes on the same port with the same gateways. Sessions are in
    // memory here (no users file), so the page's session is made again in the new hub's store.
    await hub.close();
    hub = await startHub(port);
    const session = hub.viewer!.sessions.create(ALICE.name);
    const cookie = `__Host-camgate=${session.id}`;
    const page = new WebSocket(`wss://127.0.0.1:${port}/viewer/ws`, {
      ca: cert.cert,
      headers: { Origin: hub.url, Cookie: cookie },
    });
    t.after(() => page.close());
    const lists: { gateway: string; camera: string; online: boolean }[][] = [];
    page.on('message', (d) => {
      const m = JSON.parse(String(d)) as { type: string; cameras?: (typeof lists)[number] };
      if (m.type === 'cameras') lists.push(m.cameras!);
    });
    const opened = await Promise.race([
      once(page, 'open').then(() => true),
      once(page, 'unexpected-response').then(() => false),
    ]);
    assert.equal(opened, true, 'the page’s socket is accepted by the new hub');

    await until(
      () => homes.filter((x) => x.connects === 2).length,
      (n) => n === HOMES,
      120_000,
      'all homes back',
    );
    assert.equal(hub.tunnels.peers().filter((p) => p.online).length, HOMES, 'the hub sees every home online');
    await until(
      () => lists.at(-1) ?? [],
      (l) => l.length === 2 * CAMERAS && l.every((c) => c.online),
      30_000,
      'the page listing all 8 granted cameras online',
    );
    await sleep(500); // anything still due within the coalescing window has arrived
    t.diagnostic(`${lists.length} camera lists reached the page while ${HOMES} homes came back`);
    assert.ok(lists.length < HOMES, `${lists.length} camera lists for ${HOMES} gateways coming back`);
    assert.deepEqual(
      [...new Set(lists.at(-1)!.map((c) => c.gateway))].sort(),
      ['storm-home-17', 'storm-home-3'],
      'only granted homes are listed',
    );
  });
});
