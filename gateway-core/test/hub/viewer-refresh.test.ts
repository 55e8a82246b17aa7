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
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import type { GatewayStatus } from '../../src/hub/index.js';
import { ViewerApp } from '../../src/hub/viewer/index.js';
import { until } from '@camgate/test-helpers';

const GATEWAYS = 200;

function statuses(online: number): GatewayStatus[] {
  return Array.from({ length: GATEWAYS }, (_, i) => ({
    id: `home-${i}`,
    name: `Home ${i}`,
    online: i < online,
    since: undefined,
    remoteAddress: undefined,
    cameras: i < online ? [{ id: 'porch', name: 'Porch' }] : [],
  }));
}

describe('ViewerApp', () => {
  describe('gateway changes', () => {
    it('sends the pages one camera list per burst of gateway changes, from one walk over the gateways', async (t) => {
      let online = 0;
      let walks = 0;
      let notify: (() => void) | undefined;
      const app = new ViewerApp(
        // Plain http on loopback: the session cookie is `camgate`.
        { users: [{ name: 'alice', passwordHash: 'scrypt$unused', cameras: ['home-1/*', 'home-199/*'] }] },
        {
          gatewayStatus: () => (walks++, statuses(online)),
          kurentoUrl: (id) => `ws://127.0.0.1:9/kurento/${id}`,
          secure: false,
          watchGateways: (fn) => {
            notify = fn;
            return () => (notify = undefined);
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
      const lists: { camera: string; gateway: string; online: boolean }[][] = [];
      ws.on('message', (d) => {
        const m = JSON.parse(String(d)) as { type: string; cameras?: (typeof lists)[number] };
        if (m.type === 'cameras') lists.push(m.cameras!);
      });
      await until(
        () => lists.length,
        (n) => n > 0,
        10_000,
        'the first camera list',
      );
      assert.deepEqual(lists[0], [], 'nothing online yet');
      const walksBefore = walks;

      // The storm: every gateway comes back, one event each.
      for (online = 1; online <= GATEWAYS; online++) notify!();
      online = GATEWAYS;
      await until(
        () => lists.length,
        (n) => n > 1,
        10_000,
        'a camera list after the storm',
      );
      await sleep(300); // longer than the coalescing window: anything still due has been sent
      assert.ok(lists.length <= 3, `${lists.length - 1} lists for ${GATEWAYS} gateway changes`);
      assert.ok(walks - walksBefore <= 2, `${walks - walksBefore} walks over the gateways for ${GATEWAYS} changes`);
      assert.deepEqual(
        lists.at(-1)!.map((c) => `${c.gateway}/${c.camera}:${c.online}`),
        ['home-1/porch:true', 'home-199/porch:true'],
        'the last list is the state after the storm, granted cameras only',
      );
    });
  });
});
