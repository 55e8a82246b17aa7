/**
 * The camera list a page gets when gateways come and go. After a hub restart
 * a thousand gateways return within seconds (`npm run bench:hub`): the pages
 * must get a handful of lists, each from one walk over the gateways — not
 * one list (and one walk of every gateway, for every page) per gateway.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { GatewayStatus } from '../../src/hub/index.js';
import { ViewerApp } from '../../src/hub/viewer/index.js';
import { until } from '@camgate/test-helpers';

const GATEWAYS = 200;

function statuses(isOnline: (i: number) => boolean): GatewayStatus[] {
  return Array.from({ length: GATEWAYS }, (_, i) => ({
    id: `home-${i}`,
    name: `Home ${i}`,
    online: isOnline(i),
    since: undefined,
    remoteAddress: undefined,
    cameras: isOnline(i) ? [{ id: 'porch', name: 'Porch' }] : [],
  }));
}

type Listed = { camera: string; gateway: string; online: boolean }[];

/** A viewer app whose gateways are `isOnline`, and alice's page on it (granted home-1 and home-199). */
async function alicePage(t: TestContext, isOnline: (i: number) => boolean) {
  const page = { walks: 0, lists: [] as Listed[], notify: (): void => assert.fail('not watching') };
  const app = new ViewerApp(
    // Plain http on loopback: the session cookie is `camgate`.
    { users: [{ name: 'alice', passwordHash: 'scrypt$unused', cameras: ['home-1/*', 'home-199/*'] }] },
    {
      gatewayStatus: () => (page.walks++, statuses(isOnline)),
      kurentoUrl: (id) => `ws://127.0.0.1:9/kurento/${id}`,
      secure: false,
      watchGateways: (fn) => {
        page.notify = fn;
        return () => (page.notify = () => assert.fail('not watching'));
      },
    },
  );
  await app.start();
  const server = createServer();
  server.on('upgrade', (req, socket, head) => app.handleUpgrade(req, socket, head));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(async () => {
    await app.close();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const session = app.sessions.create('alice');
  const ws = new WebSocket(`ws://127.0.0.1:${port}/viewer/ws`, {
    headers: { Origin: `http://127.0.0.1:${port}`, Cookie: `camgate=${session.id}` },
  });
  t.after(() => ws.close());
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string; cameras?: Listed };
    if (m.type === 'cameras') page.lists.push(m.cameras!);
  });
  await until(
    () => page.lists.length,
    (n) => n > 0,
    10_000,
    'the first camera list',
  );
  return page;
}

const listed = (l: Listed): string[] => l.map((c) => `${c.gateway}/${c.camera}:${c.online}`);

describe('ViewerApp', () => {
  describe('gateway changes', () => {
    it('sends the pages one camera list per burst of gateway changes, from one walk over the gateways', async (t) => {
      let online = 0;
      const page = await alicePage(t, (i) => i < online);
      assert.deepEqual(page.lists[0], [], 'nothing online yet');
      const walksBefore = page.walks;

      // The storm: every gateway comes back, one event each.
      for (online = 1; online <= GATEWAYS; online++) page.notify();
      online = GATEWAYS;
      await until(
        () => page.lists.length,
        (n) => n > 1,
        10_000,
        'a camera list after the storm',
      );
      await sleep(300); // longer than the coalescing window: anything still due has been sent
      assert.ok(page.lists.length <= 3, `${page.lists.length - 1} lists for ${GATEWAYS} gateway changes`);
      const walks = page.walks - walksBefore;
      assert.ok(walks <= 2, `${walks} walks over the gateways for ${GATEWAYS} changes`);
      assert.deepEqual(
        listed(page.lists.at(-1)!),
        ['home-1/porch:true', 'home-199/porch:true'],
        'the last list is the state after the storm, granted cameras only',
      );
    });

    it('sends a page nothing when gateways it may not see come back, spread over seconds', async (t) => {
      // Gateways return spread out (their reconnect jitter), each change its own refresh.
      const back = new Set<number>();
      const page = await alicePage(t, (i) => back.has(i));
      for (const i of [5, 6, 7, 1, 8, 9]) {
        back.add(i);
        page.notify();
        await sleep(150); // past the coalescing window: each one is a refresh of its own
      }
      await sleep(300);
      assert.deepEqual(
        page.lists.map(listed),
        [[], ['home-1/porch:true']],
        'the first list, then one when home-1 came back: none for the five homes alice may not see',
      );
    });
  });
});
