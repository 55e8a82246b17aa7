/**
 * Returning after a hub outage without a thundering herd (issue 17): a real
 * TunnelClient against a real TunnelServer on loopback. The delays are
 * checked as chosen (`nextRetryMs` of each `reconnecting` state) from an
 * injected random source, never by wall-clock timing.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { TcpProxy } from '@camgate/test-helpers';
import { TunnelClient } from '../../src/tunnel/index.js';
import { makeClient, startHub, waitState } from '../helpers/tunnel.js';

const SECRET = 'spread-secret-7Hq2Lx9Vb4';

/** The `nextRetryMs` of the next `n` reconnecting states of `client`. */
function nextDelays(client: TunnelClient, n: number): Promise<number[]> {
  const out: number[] = [];
  return new Promise((resolve) => {
    const on = (s: string, info: { nextRetryMs?: number }): void => {
      if (s !== 'reconnecting') return;
      out.push(info.nextRetryMs!);
      if (out.length === n) {
        client.off('state', on);
        resolve(out);
      }
    };
    client.on('state', on);
  });
}

describe('tunnel reconnect spread', () => {
  it('backs off exponentially before the first connection, and draws every retry from the window after a lost tunnel', async (t: TestContext) => {
    const hub = await startHub({ gw1: SECRET });
    const proxy = await TcpProxy.create({ port: hub.port });
    let queue: number[] = [];
    const client = makeClient({
      url: `ws://127.0.0.1:${proxy.port}/tunnel`,
      gatewayId: 'gw1',
      secret: SECRET,
      backoff: { initialMs: 20, maxMs: 1_000, factor: 2, jitter: 0.25, reconnectWindowMs: 400 },
      random: () => queue.shift() ?? 0.5, // 0.5: no jitter either way
    });
    t.after(async () => {
      await client.close();
      await hub.close();
      await proxy.close();
    });

    // Never connected yet: the ordinary backoff, 20 ms doubling.
    proxy.sever();
    const early = nextDelays(client, 2);
    client.start();
    assert.deepEqual(await early, [20, 40]);
    proxy.restore();
    await waitState(client, 'connected');

    // Connected, then lost: each retry is the window times the draw, not the backoff.
    queue = [0.25, 0.75];
    const lost = nextDelays(client, 2);
    proxy.sever();
    assert.deepEqual(await lost, [100, 300]);
    proxy.restore();
    await waitState(client, 'connected');

    // Back up: the next loss is spread again (a draw of 0 may retry at once).
    queue = [0];
    const again = nextDelays(client, 1);
    proxy.sever();
    assert.deepEqual(await again, [0]);
    proxy.restore();
    await waitState(client, 'connected');
  });

  it('gateways that lose a restarting hub at once pick their first retries across the window', async (t: TestContext) => {
    const secrets = Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`home${i}`, `${SECRET}-${i}`]));
    const hub = await startHub(secrets);
    const draws = [0.05, 0.3, 0.5, 0.7, 0.95];
    const clients = draws.map(
      (r, i) =>
        new TunnelClient({
          url: hub.url,
          gatewayId: `home${i}`,
          secret: `${SECRET}-${i}`,
          backoff: { reconnectWindowMs: 10_000 },
          random: () => r,
        }),
    );
    t.after(() => Promise.all(clients.map((c) => c.close())));
    for (const c of clients) c.start();
    await Promise.all(clients.map((c) => waitState(c, 'connected')));
    const first = Promise.all(clients.map((c) => nextDelays(c, 1)));
    await hub.close(); // 4001 to every gateway, as a hub being restarted sends
    assert.deepEqual((await first).flat(), [500, 3_000, 5_000, 7_000, 9_500]);
  });

  it('a hub at maxPendingHandshakes answers 503 with Retry-After, and the gateway waits that long plus jitter', async (t: TestContext) => {
    const hub = await startHub(
      { gw1: SECRET },
      { maxPendingHandshakes: 1, busyRetryAfterS: 1, helloTimeoutMs: 30_000 },
    );
    t.after(() => hub.close());
    // One connection upgraded but silent holds the only handshake place.
    const silent = new WebSocket(hub.url);
    await once(silent, 'open');
    assert.equal(hub.server.handshakeStats().pending, 1);

    const client = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, random: () => 0.5 });
    t.after(() => client.close());
    const busy = waitState(client, 'reconnecting');
    client.start();
    const info = await busy;
    assert.equal(info.code, 'CAMGATE_TUNNEL_CONNECT');
    assert.match(info.reason ?? '', /answered 503 \(retry after 1 s\)/);
    assert.equal(info.nextRetryMs, 1_500, 'Retry-After 1 s, plus half of it from the draw of 0.5');
    assert.deepEqual(hub.server.handshakeStats(), { pending: 1, busyAnswers: 1 });

    // The place frees up; the gateway's retry gets in.
    silent.terminate();
    await waitState(client, 'connected');
    assert.equal(hub.server.handshakeStats().pending, 0);
  });

  it('refuses a bad reconnect window or handshake cap', () => {
    const base = { url: 'ws://127.0.0.1:1/tunnel', gatewayId: 'gw1', secret: SECRET };
    assert.throws(() => new TunnelClient({ ...base, backoff: { reconnectWindowMs: -1 } }), {
      name: 'RangeError',
      message: 'TunnelClient: option backoff.reconnectWindowMs must be between 0 and 3600000, got -1',
    });
    assert.throws(() => new TunnelClient({ ...base, random: 'x' as never }), {
      message: 'TunnelClient: option random must be a function () => number',
    });
    return assert.rejects(startHub({}, { maxPendingHandshakes: 0 }), {
      message: 'TunnelServer: option maxPendingHandshakes must be between 1 and 1000000, got 0',
    });
  });
});
