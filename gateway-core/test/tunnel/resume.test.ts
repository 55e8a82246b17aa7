import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHANNEL_CLOSE, type Channel } from '../../src/tunnel/index.js';
import { TcpProxy } from '@camgate/test-helpers';
import { collect, makeClient, startHub, waitEvent, waitState } from '../helpers/tunnel.js';

const SECRET = 'resume-test-secret-123456';

/** Hub ← proxy ← client, one channel open. */
async function setup(t: { after: (fn: () => unknown) => void }, hubOpts = {}, clientOpts = {}) {
  const hub = await startHub({ gw1: SECRET }, hubOpts);
  t.after(() => hub.close());
  const proxy = await TcpProxy.create({ port: hub.port });
  t.after(() => proxy.close());
  const client = makeClient({
    url: `ws://127.0.0.1:${proxy.port}/tunnel`,
    gatewayId: 'gw1',
    secret: SECRET,
    ...clientOpts,
  });
  t.after(() => client.close());
  const gwOpened = once(client, 'channel');
  client.start();
  await waitState(client, 'connected');
  const peer = hub.server.peer('gw1')!;
  const hubCh = peer.openChannel({ k: 1 });
  const [gwCh] = (await gwOpened) as [Channel];
  return { hub, proxy, client, peer, hubCh, gwCh };
}

describe('tunnel persistence', () => {
  it('a ~2 s cut mid-stream loses and duplicates nothing; channels stay open', async (t) => {
    const { proxy, client, peer, hubCh, gwCh } = await setup(t);
    const N = 3000;
    const atGw = collect(gwCh, N);
    const atHub = collect(hubCh, N);
    const events: string[] = [];
    for (const [name, ch] of [
      ['hub', hubCh],
      ['gw', gwCh],
    ] as const) {
      ch.on('detached', () => events.push(`${name}:detached`));
      ch.on('attached', () => events.push(`${name}:attached`));
    }
    let i = 0;
    const sendSome = (n: number): void => {
      for (const end = i + n; i < end; i++) {
        hubCh.send(`h${i}`);
        gwCh.send(`g${i}`);
      }
    };
    sendSome(1000); // in flight when the cut happens
    const down = waitState(client, 'reconnecting');
    const offline = once(peer, 'offline');
    proxy.sever();
    // No ack could have come back yet (same tick): these must be retransmitted after resume.
    assert.ok(client.stats().unackedFrames >= 1000, 'gateway frames in flight at the cut');
    assert.ok(peer.stats().unackedFrames >= 1000, 'hub frames in flight at the cut');
    await Promise.all([down, offline]);
    assert.equal(hubCh.state, 'detached');
    assert.equal(gwCh.state, 'detached');
    sendSome(1000); // queued while detached
    await sleep(2000); // the outage; the client keeps retrying into a closed door
    sendSome(1000);
    proxy.restore();
    await waitState(client, 'connected');
    const [g, h] = await Promise.all([atGw, atHub]);
    assert.deepEqual(
      g,
      Array.from({ length: N }, (_, k) => `h${k}`),
    );
    assert.deepEqual(
      h,
      Array.from({ length: N }, (_, k) => `g${k}`),
    );
    assert.equal(hubCh.state, 'open');
    assert.equal(gwCh.state, 'open');
    assert.deepEqual(events.sort(), ['gw:attached', 'gw:detached', 'hub:attached', 'hub:detached']);
    assert.ok(proxy.accepted >= 2, 'it really reconnected');
    // Nothing arrives twice: one more message is the very next one.
    const more = collect(gwCh, 1);
    hubCh.send('after');
    assert.deepEqual(await more, ['after']);
  });

  it('buffered detached sends beyond maxChannelBufferBytes close that channel (1008)', async (t) => {
    const { proxy, client, peer, gwCh } = await setup(t, {}, { maxChannelBufferBytes: 1024 });
    const down = waitState(client, 'reconnecting');
    const offline = once(peer, 'offline');
    proxy.sever();
    await Promise.all([down, offline]);
    const closed = once(gwCh, 'close');
    gwCh.send('x'.repeat(600));
    gwCh.send('y'.repeat(600));
    assert.deepEqual((await closed)[0], {
      code: CHANNEL_CLOSE.LIMIT,
      reason: 'send buffer overflow: more than 1024 bytes queued',
    });
    assert.equal(gwCh.state, 'closed');
  });

  it('hub closed and a new one started: channels close with a reason, the client reconnects', async (t) => {
    const { hub, proxy, client, hubCh, gwCh } = await setup(t);
    const gwClosed = once(gwCh, 'close');
    const hubClosed = once(hubCh, 'close');
    await hub.close();
    assert.deepEqual((await hubClosed)[0], { code: CHANNEL_CLOSE.GOING_AWAY, reason: 'hub shutting down' });
    assert.deepEqual((await gwClosed)[0], {
      code: CHANNEL_CLOSE.SESSION_LOST,
      reason: 'tunnel session lost: hub shutting down',
    });
    const hub2 = await startHub({ gw1: SECRET });
    t.after(() => hub2.close());
    proxy.setTarget({ port: hub2.port });
    await waitState(client, 'connected');
    const peer2 = hub2.server.peer('gw1')!;
    const opened = once(client, 'channel');
    const ch = peer2.openChannel();
    const [gw2] = (await opened) as [Channel];
    const got = collect(ch, 1);
    gw2.send('new session works');
    assert.deepEqual(await got, ['new session works']);
  });

  it('hub vanished without a word (crash): the new hub does not know the session, channels close', async (t) => {
    const { hub, proxy, client, gwCh } = await setup(t);
    proxy.sever();
    await waitState(client, 'reconnecting');
    await hub.close(); // its 4001 cannot reach the gateway: the proxy is severed
    const hub2 = await startHub({ gw1: SECRET });
    t.after(() => hub2.close());
    proxy.setTarget({ port: hub2.port });
    const closed = once(gwCh, 'close');
    proxy.restore();
    assert.deepEqual((await closed)[0], {
      code: CHANNEL_CLOSE.SESSION_LOST,
      reason: 'tunnel session lost: the hub did not resume it (hub restarted or resume grace expired)',
    });
    await waitState(client, 'connected');
  });

  it('after resumeGraceMs the hub forgets the gateway: peer gone, channels closed at both ends', async (t) => {
    const { hub, proxy, client, peer, hubCh, gwCh } = await setup(t, { resumeGraceMs: 100 });
    const hubClosed = once(hubCh, 'close');
    const gone = once(peer, 'gone');
    proxy.sever();
    await gone;
    assert.deepEqual((await hubClosed)[0], {
      code: CHANNEL_CLOSE.SESSION_LOST,
      reason: 'tunnel session lost: the gateway did not return within 100 ms',
    });
    assert.equal(hub.server.peer('gw1'), undefined);
    const gwClosed = once(gwCh, 'close');
    const newPeer = waitEvent(hub.server, 'peer');
    proxy.restore();
    assert.equal((await gwClosed)[0].code, CHANNEL_CLOSE.SESSION_LOST);
    await newPeer;
    await waitState(client, 'connected');
    assert.notEqual(hub.server.peer('gw1'), peer, 'a new TunnelPeer after gone');
  });

  it('control messages sent while detached are delivered after resume', async (t) => {
    const { proxy, client, peer } = await setup(t);
    const down = waitState(client, 'reconnecting');
    const offline = once(peer, 'offline');
    proxy.sever();
    await Promise.all([down, offline]);
    peer.sendControl({ n: 1 });
    client.sendControl({ n: 2 });
    const atGw = once(client, 'control');
    const atHub = once(peer, 'control');
    const online = once(peer, 'online');
    proxy.restore();
    await online;
    assert.deepEqual((await atGw)[0], { n: 1 });
    assert.deepEqual((await atHub)[0], { n: 2 });
  });

  it('heartbeat at the hub detects a gateway that black-holes traffic', async (t) => {
    const { proxy, client, peer } = await setup(t, { heartbeatMs: 30, deadAfterMs: 150 }, {});
    const offline = once(peer, 'offline');
    const down = waitState(client, 'reconnecting');
    proxy.blackhole();
    assert.equal(String((await offline)[0]), 'tunnel closed (1006: peer dead: no traffic for 150 ms)');
    await down; // the hub's reset travels back through the proxy
    proxy.restore();
    await waitState(client, 'connected');
  });

  it('heartbeat at the gateway detects a hub that black-holes traffic', async (t) => {
    const { proxy, client, peer, gwCh } = await setup(t, {}, { heartbeatMs: 30, deadAfterMs: 150 });
    const down = waitState(client, 'reconnecting');
    proxy.blackhole();
    const info = await down;
    assert.equal(info.code, 'CAMGATE_TUNNEL_CONNECTION_LOST');
    assert.equal(info.reason, 'tunnel closed (1006: peer dead: no traffic for 150 ms)');
    assert.equal(gwCh.state, 'detached');
    proxy.restore();
    await waitState(client, 'connected');
    assert.equal(gwCh.state, 'open');
    assert.equal(peer.online, true);
  });
});
