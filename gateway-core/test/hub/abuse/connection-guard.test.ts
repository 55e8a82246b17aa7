/**
 * Slow clients and connection floods, at small scale on a
 * real hub: per-address caps, the unauthenticated cap that closes the oldest,
 * timeouts of seconds, and a sign-in that still succeeds meanwhile. Every
 * assertion is on behaviour (who was closed, which status), never on time.
 */
import assert from 'node:assert/strict';
import { request as httpsRequest } from 'node:https';
import { connect, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Gateway } from '../../../src/gateway/index.js';
import { Hub, type HubOptions } from '../../../src/hub/index.js';
import { hashSecret, makeVerifier } from '../../../src/tunnel/index.js';
import { until, within } from '@camgate/test-helpers';
import { makeSelfSignedCert } from '@camgate/test-helpers';

const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };
const GATEWAY_SECRET = 'gw-secret-Z6rT9qLm2vXc8HnB4pKw';

async function startHub(t: import('node:test').TestContext, extra: Partial<HubOptions> = {}): Promise<Hub> {
  const hub = await Hub.start({
    listen: { port: 0 },
    kurento: { port: 0 },
    gateways: [{ id: 'home', name: 'Home', secretHash: await makeVerifier(GATEWAY_SECRET) }],
    viewer: { users: [{ name: ALICE.name, passwordHash: await hashSecret(ALICE.password), cameras: ['home/*'] }] },
    ...extra,
  });
  t.after(() => hub.close());
  return hub;
}

interface Slow {
  socket: Socket;
  closed: Promise<void>;
  data: () => string;
}

/** A socket from `localAddress` that sends half a request's headers and then nothing. */
function slowSocket(port: number, localAddress: string, head = 'GET / HTTP/1.1\r\nHost: hub\r\n'): Slow {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  let text = '';
  socket.on('data', (d) => (text += d.toString()));
  socket.on('error', () => undefined);
  socket.on('connect', () => socket.write(head));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  return { socket, closed, data: () => text };
}

async function signIn(base: string): Promise<number> {
  const res = await within(
    fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Origin: base },
      body: JSON.stringify(ALICE),
    }),
    20_000,
    'a sign-in answer',
  );
  await res.arrayBuffer();
  return res.status;
}

describe('Hub connection limits', () => {
  it('holds at most maxConnectionsPerAddress sockets of one address; the viewer elsewhere signs in meanwhile', async (t) => {
    const hub = await startHub(t, { connections: { maxConnectionsPerAddress: 5 } });
    const port = Number(new URL(hub.url).port);
    const slow = Array.from({ length: 20 }, () => slowSocket(port, '127.0.0.2'));
    t.after(() => slow.forEach((s) => s.socket.destroy()));
    await until(
      () => hub.connections.stats.refusedPerAddress,
      (n) => n === 15,
      10_000,
      '15 refusals',
    );
    const open = slow.filter((s) => !s.socket.destroyed && s.socket.readyState === 'open').length;
    assert.ok(open <= 5, `${open} held`);
    assert.equal(await signIn(hub.url), 200, 'alice at another address signs in while the slow sockets are held');
  });

  it('answers half-sent headers with 408 after headersTimeoutMs and closes silent sockets', async (t) => {
    const hub = await startHub(t, {
      timeouts: { headersTimeoutMs: 300, requestTimeoutMs: 300 },
      connections: { firstByteTimeoutMs: 300 },
    });
    const port = Number(new URL(hub.url).port);
    const half = slowSocket(port, '127.0.0.2');
    const silent = slowSocket(port, '127.0.0.2', '');
    t.after(() => [half, silent].forEach((s) => s.socket.destroy()));
    await within(Promise.all([half.closed, silent.closed]), 15_000, 'both sockets closed by the hub');
    assert.match(half.data(), /^HTTP\/1\.1 408 /);
    assert.equal(silent.data(), '');
    assert.equal(hub.connections.stats.silent, 1);
  });

  it('closes the oldest unauthenticated socket when the overall cap is reached, never an authenticated tunnel', async (t) => {
    const hub = await startHub(t, { connections: { maxUnauthenticatedConnections: 8 } });
    const port = Number(new URL(hub.url).port);
    const gateway = Gateway.start({
      hub: { url: `ws://127.0.0.1:${port}/tunnel`, gatewayId: 'home', secret: GATEWAY_SECRET },
      mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
      cameras: [],
    });
    t.after(() => gateway.close());
    await until(
      () => hub.tunnels.peer('home')?.online ?? false,
      (v) => v,
      10_000,
      'the gateway online',
    );
    let offline = 0;
    hub.on('gateway', (e) => {
      if (!e.online) offline++;
    });
    // A flood spread over 24 addresses: no per-address cap applies.
    const slow: Slow[] = [];
    t.after(() => slow.forEach((s) => s.socket.destroy()));
    for (let i = 0; i < 24; i++) {
      slow.push(slowSocket(port, `127.0.1.${i + 1}`));
      await until(
        () => hub.connections.stats.open,
        (n) => n >= Math.min(i + 2, 9),
        10_000,
        'the socket accepted',
      );
    }
    await until(
      () => hub.connections.stats.evicted,
      (n) => n >= 16,
      10_000,
      '16 evictions',
    );
    assert.ok(hub.connections.stats.unauthenticated <= 8);
    assert.equal(
      await within(Promise.race([slow[0]!.closed.then(() => 'closed')]), 10_000, 'the oldest closed'),
      'closed',
    );
    assert.equal(await signIn(hub.url), 200, 'a new sign-in gets a place');
    assert.equal(hub.tunnels.peer('home')?.online, true, 'the authenticated tunnel was never evicted');
    assert.equal(offline, 0);
  });

  it('evicts sockets still sending headers before one whose request is being answered', async (t) => {
    const hub = await startHub(t, { connections: { maxUnauthenticatedConnections: 3 } });
    const port = Number(new URL(hub.url).port);
    // A sign-in whose headers are complete and whose body is still on its way: the hub is serving it.
    const body = JSON.stringify(ALICE);
    const signInHead =
      `POST /login HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
    const viewer = slowSocket(port, '127.0.0.1', signInHead + body.slice(0, 5));
    t.after(() => viewer.socket.destroy());
    await until(
      () => hub.connections.stats.open,
      (n) => n === 1,
      10_000,
      'the sign-in socket accepted',
    );
    const slow: Slow[] = [];
    t.after(() => slow.forEach((s) => s.socket.destroy()));
    for (let i = 0; i < 8; i++) {
      slow.push(slowSocket(port, `127.0.5.${i + 1}`));
      await until(
        () => hub.connections.stats.open,
        (n) => n >= Math.min(i + 2, 3),
        10_000,
        'the socket accepted',
      );
    }
    await until(
      () => hub.connections.stats.evicted,
      (n) => n >= 6,
      10_000,
      '6 evictions',
    );
    assert.equal(viewer.socket.destroyed, false, 'the sign-in in progress was not evicted');
    viewer.socket.write(body.slice(5));
    await within(viewer.closed, 10_000, 'the sign-in answer');
    assert.match(viewer.data(), /^HTTP\/1\.1 200 /);
  });

  it('counts a TLS tunnel as authenticated too (the cap sees the TCP socket under the TLS one)', async (t) => {
    const { cert, key } = makeSelfSignedCert();
    const hub = await startHub(t, { tls: { cert, key }, connections: { maxUnauthenticatedConnections: 4 } });
    const port = Number(new URL(hub.url).port);
    const gateway = Gateway.start({
      hub: { url: `wss://localhost:${port}/tunnel`, gatewayId: 'home', secret: GATEWAY_SECRET, tls: { ca: cert } },
      mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
      cameras: [],
    });
    t.after(() => gateway.close());
    await until(
      () => hub.tunnels.peer('home')?.online ?? false,
      (v) => v,
      10_000,
      'the gateway online over TLS',
    );
    await until(
      () => hub.connections.stats.unauthenticated,
      (n) => n === 0,
      10_000,
      'the tunnel counted as authenticated',
    );
    let offline = 0;
    hub.on('gateway', (e) => {
      if (!e.online) offline++;
    });
    const slow: Slow[] = [];
    t.after(() => slow.forEach((s) => s.socket.destroy()));
    for (let i = 0; i < 10; i++) slow.push(slowSocket(port, `127.0.4.${i + 1}`, ''));
    await until(
      () => hub.connections.stats.evicted,
      (n) => n >= 6,
      10_000,
      '6 evictions',
    );
    assert.equal(hub.tunnels.peer('home')?.online, true);
    assert.equal(offline, 0, 'the TLS tunnel was never evicted');
  });

  it('refuses a flood of unauthenticated upgrades: 429 beyond the pending hellos, 401 on the viewer socket', async (t) => {
    const hub = await startHub(t);
    const port = Number(new URL(hub.url).port);
    const statusOf = (path: string): Promise<number | 'open'> =>
      within(
        new Promise((resolve) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, {
            localAddress: '127.0.0.4',
            origin: `http://127.0.0.1:${port}`,
          });
          t.after(() => ws.terminate());
          ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
          ws.once('open', () => resolve('open'));
          ws.once('error', () => undefined);
        }),
        10_000,
        `the upgrade of ${path}`,
      );
    const tunnel = await Promise.all(Array.from({ length: 30 }, () => statusOf('/tunnel')));
    assert.equal(tunnel.filter((s) => s === 'open').length, 8, 'maxPendingHellosPerIp sockets wait for hello');
    assert.equal(tunnel.filter((s) => s === 429).length, 22);
    const viewer = await Promise.all(Array.from({ length: 10 }, () => statusOf('/viewer/ws')));
    assert.deepEqual([...new Set(viewer)], [401]);
    assert.equal(await signIn(hub.url), 200);
  });
});

describe('HSTS', () => {
  it('sends Strict-Transport-Security on a TLS hub, not on plain http', async (t) => {
    const { cert, key } = makeSelfSignedCert();
    const tls = await startHub(t, { tls: { cert, key } });
    const header = await within(
      new Promise<string | undefined>((resolve, reject) => {
        const u = new URL(`${tls.url}/login`);
        httpsRequest({ host: u.hostname, port: u.port, path: u.pathname, rejectUnauthorized: false }, (res) => {
          res.resume();
          resolve(res.headers['strict-transport-security'] as string | undefined);
        })
          .on('error', reject)
          .end();
      }),
      10_000,
      'the TLS answer',
    );
    assert.equal(header, 'max-age=31536000');
    const plain = await startHub(t);
    const res = await fetch(`${plain.url}/login`);
    await res.arrayBuffer();
    assert.equal(res.headers.get('strict-transport-security'), null, 'RFC 6797 §7.2: not over plain http');
  });
});
