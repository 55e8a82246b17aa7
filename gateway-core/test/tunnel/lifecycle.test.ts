import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setImmediate as tick } from 'node:timers/promises';
import type { Channel } from '../../src/tunnel/index.js';
import { TcpProxy } from '@camgate/test-helpers';
import { collect, makeClient, startHub, waitState } from '../helpers/tunnel.js';

const SECRET = 'lifecycle-secret-123456';
const WATCHED = ['Timeout', 'TCPSocketWrap', 'TCPServerWrap', 'TLSWrap'];

function counts(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of process.getActiveResourcesInfo()) if (WATCHED.includes(r)) out[r] = (out[r] ?? 0) + 1;
  return out;
}

describe('tunnel lifecycle', () => {
  it('close() leaves no timers or sockets behind, and is idempotent', async () => {
    const before = counts();
    const hub = await startHub({ gw1: SECRET }, { heartbeatMs: 50, deadAfterMs: 200 });
    const proxy = await TcpProxy.create({ port: hub.port });
    const client = makeClient({ url: `ws://127.0.0.1:${proxy.port}/tunnel`, gatewayId: 'gw1', secret: SECRET });
    const opened = once(client, 'channel');
    client.start();
    await waitState(client, 'connected');
    const ch = hub.server.peer('gw1')!.openChannel();
    const [gw] = (await opened) as [Channel];
    const got = collect(gw, 1);
    ch.send('hi');
    await got;
    // A drop and a resume, so grace, retry and handshake timers have all existed.
    proxy.sever();
    await waitState(client, 'reconnecting');
    proxy.restore();
    await waitState(client, 'connected');
    const closedState = once(client, 'state');
    await Promise.all([client.close(), client.close()]);
    assert.equal((await closedState)[0], 'closed');
    await hub.close();
    await hub.close();
    await proxy.close();
    assert.equal(ch.state, 'closed');
    assert.throws(() => client.start(), { code: 'CAMGATE_TUNNEL_CLOSED' });
    // Closed handles leave the list once their close callbacks ran.
    for (let i = 0; i < 20 && JSON.stringify(counts()) !== JSON.stringify(before); i++) await tick();
    assert.deepEqual(counts(), before);
  });

  it('closing a client that is still retrying clears its timers', async () => {
    const before = counts();
    const hub = await startHub({});
    const port = hub.port;
    await hub.close(); // nothing listens there any more
    const client = makeClient({ url: `ws://127.0.0.1:${port}/tunnel`, gatewayId: 'gw1', secret: SECRET });
    client.start();
    const info = await waitState(client, 'reconnecting');
    assert.equal(info.code, 'CAMGATE_TUNNEL_CONNECT');
    assert.match(info.reason ?? '', /ECONNREFUSED/);
    await client.close();
    for (let i = 0; i < 20 && JSON.stringify(counts()) !== JSON.stringify(before); i++) await tick();
    assert.deepEqual(counts(), before);
  });
});
