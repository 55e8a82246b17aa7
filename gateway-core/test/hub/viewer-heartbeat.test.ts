/**
 * Viewer socket keep-alive, so sessions last: a watching page
 * sends nothing, so the hub pings it; a browser that answers stays connected
 * however long it watches, one that stopped answering is closed.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import WebSocket from 'ws';
import { Hub } from '../../src/hub/index.js';
import { hashSecret } from '../../src/tunnel/index.js';

const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };

describe('viewer socket heartbeat', () => {
  it('keeps a silent page that answers pings, closes one that does not', async (t) => {
    const hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      viewer: {
        users: [{ name: ALICE.name, passwordHash: await hashSecret(ALICE.password), cameras: [] }],
        heartbeatMs: 100,
      },
    });
    t.after(() => hub.close());
    const origin = hub.url;
    const res = await fetch(`${origin}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: origin },
      body: JSON.stringify(ALICE),
    });
    const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
    const open = async (autoPong: boolean): Promise<{ ws: WebSocket; pings: () => number; closed: () => boolean }> => {
      const ws = new WebSocket(`${origin.replace(/^http/, 'ws')}/viewer/ws`, {
        headers: { Origin: origin, Cookie: cookie },
        autoPong,
      });
      let pings = 0;
      let closed = false;
      ws.on('ping', () => pings++);
      ws.on('close', () => (closed = true));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      return { ws, pings: () => pings, closed: () => closed };
    };
    const live = await open(true);
    const deaf = await open(false);
    t.after(() => live.ws.terminate());
    // Bounded waits (not timing assertions): each loop ends by its condition or fails after 10 s.
    for (let i = 0; i < 200 && !deaf.closed(); i++) await sleep(50);
    assert.equal(deaf.closed(), true, 'a socket that answers no ping is closed');
    for (let i = 0; i < 200 && live.pings() < 5; i++) await sleep(50);
    assert.ok(live.pings() >= 5, `pinged ${live.pings()} times`);
    assert.equal(live.closed(), false, 'a page that answers stays connected through five rounds');
    assert.equal(hub.viewer!.connections, 1);
  });
});
