import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { FrameType } from '../../src/tunnel/constants.js';
import { decodeFrame, encodeFrame, type Frame } from '../../src/tunnel/frame.js';
import { CHANNEL_CLOSE, type Channel, type TunnelClient } from '../../src/tunnel/index.js';
import { openRaw, rawLogin, refNonce, refScram } from '../helpers/scram.js';
import { collect, makeClient, startHub, waitState } from '../helpers/tunnel.js';

const SECRET = 'channel-test-secret-xyz';

async function connected(t: { after: (fn: () => unknown) => void }, hubOpts = {}, clientOpts = {}) {
  const hub = await startHub({ gw1: SECRET, gw2: SECRET }, hubOpts);
  t.after(() => hub.close());
  const client = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, ...clientOpts });
  t.after(() => client.close());
  const gwChannels: Channel[] = [];
  client.on('channel', (ch) => gwChannels.push(ch));
  client.start();
  await waitState(client, 'connected');
  return { hub, client, peer: hub.server.peer('gw1')!, gwChannels };
}

/** A gateway speaking raw frames (SCRAM login by the reference helper), for hostile input. */
async function rawGateway(url: string, gatewayId: string) {
  const conn = await openRaw(url);
  await rawLogin(conn, gatewayId, SECRET);
  await conn.next((f) => f.type === FrameType.WELCOME);
  return conn;
}

describe('tunnel channels', () => {
  it('carries many channels both ways with ordered delivery', async (t) => {
    const { peer, client, gwChannels } = await connected(t);
    const N = 20;
    const M = 200;
    const hubChannels = Array.from({ length: N }, (_, i) => peer.openChannel({ n: i }));
    const gotAll = hubChannels.map((ch) => collect(ch, M));
    await untilChannels(client, gwChannels, N);
    // Echo server at the gateway: every message comes back prefixed.
    const gwGot = gwChannels.map((ch) => collect(ch, M));
    for (const ch of gwChannels) {
      ch.on('message', (m) => ch.send(`echo:${m}`));
    }
    for (let j = 0; j < M; j++) for (const ch of hubChannels) ch.send(`${ch.id}:${j}`);
    const gw = await Promise.all(gwGot);
    const back = await Promise.all(gotAll);
    for (let i = 0; i < N; i++) {
      const id = hubChannels[i]!.id;
      assert.deepEqual(gwChannels[i]!.meta, { n: i });
      assert.equal(gwChannels[i]!.id, id);
      assert.deepEqual(
        gw[i],
        Array.from({ length: M }, (_, j) => `${id}:${j}`),
      );
      assert.deepEqual(
        back[i],
        Array.from({ length: M }, (_, j) => `echo:${id}:${j}`),
      );
    }
  });

  it('closes a channel at both ends with code and reason, from either side', async (t) => {
    const { peer, client, gwChannels } = await connected(t);
    const a = peer.openChannel();
    const b = peer.openChannel();
    await untilChannels(client, gwChannels, 2);
    const gwClosed = once(gwChannels[0]!, 'close');
    a.close(4000, 'viewer left');
    assert.deepEqual((await gwClosed)[0], { code: 4000, reason: 'viewer left' });
    assert.equal(a.state, 'closed');
    const hubClosed = once(b, 'close');
    gwChannels[1]!.close();
    assert.deepEqual((await hubClosed)[0], { code: CHANNEL_CLOSE.NORMAL, reason: '' });
    assert.throws(() => b.send('x'), { code: 'CAMGATE_TUNNEL_CHANNEL_CLOSED' });
    assert.equal(peer.channelCount, 0);
  });

  it('carries control messages both ways', async (t) => {
    const { peer, client } = await connected(t);
    const atGw = once(client, 'control');
    peer.sendControl({ flag: 'exposed', cam: 'c1' });
    assert.deepEqual((await atGw)[0], { flag: 'exposed', cam: 'c1' });
    const atHub = once(peer, 'control');
    client.sendControl({ audit: [1, 2] });
    assert.deepEqual((await atHub)[0], { audit: [1, 2] });
  });

  it('re-announces on updateAnnounce()', async (t) => {
    let cams = ['a'];
    const { peer, client } = await connected(t, {}, { announce: () => ({ cams }) });
    assert.deepEqual(peer.announce, { cams: ['a'] });
    cams = ['a', 'b'];
    const got = once(peer, 'announce');
    client.updateAnnounce();
    assert.deepEqual((await got)[0], { cams: ['a', 'b'] });
    assert.deepEqual(peer.announce, { cams: ['a', 'b'] });
  });

  it('refuses channels beyond maxChannels with a clear error and keeps the tunnel up', async (t) => {
    const { peer, client, gwChannels } = await connected(t, { maxChannels: 4 });
    const chans = Array.from({ length: 4 }, () => peer.openChannel());
    for (let i = 0; i < 50; i++) {
      assert.throws(() => peer.openChannel(), {
        code: 'CAMGATE_TUNNEL_CHANNEL_LIMIT',
        message: 'channel limit reached: 4 of 4 channels open',
      });
    }
    const got = collect(chans[3]!, 1);
    await untilChannels(client, gwChannels, 4);
    gwChannels[3]!.send('still here');
    assert.deepEqual(await got, ['still here']);
    assert.equal(client.state, 'connected');
    chans[0]!.close();
    assert.equal(peer.openChannel().state, 'open', 'a closed channel frees its slot');
  });

  it('refuses messages larger than one frame with CAMGATE_TUNNEL_FRAME_TOO_LARGE', async (t) => {
    const { peer } = await connected(t, { maxFrameBytes: 2048 });
    const ch = peer.openChannel();
    assert.throws(() => ch.send('x'.repeat(4096)), { code: 'CAMGATE_TUNNEL_FRAME_TOO_LARGE' });
    assert.equal(ch.state, 'open');
  });

  it('throws CAMGATE_TUNNEL_OFFLINE when opening on an offline gateway', async (t) => {
    const { peer, client } = await connected(t);
    const off = once(peer, 'offline');
    await client.close();
    await off;
    assert.throws(() => peer.openChannel(), { code: 'CAMGATE_TUNNEL_OFFLINE' });
  });

  it('a malformed frame for one channel closes only that channel, at both ends', async (t) => {
    const hub = await startHub({ gw1: SECRET, gw2: SECRET });
    t.after(() => hub.close());
    const other = makeClient({ url: hub.url, gatewayId: 'gw2', secret: SECRET });
    t.after(() => other.close());
    other.start();
    await waitState(other, 'connected');
    const raw = await rawGateway(hub.url, 'gw1');
    t.after(() => raw.ws.terminate());
    const peer = hub.server.peer('gw1')!;
    const c1 = peer.openChannel();
    const c2 = peer.openChannel();
    await raw.next((f) => f.type === FrameType.OPEN && f.channel === c2.id);
    const closed = once(c1, 'close');
    // Invalid UTF-8 (0xC3 0x28) in a DATA frame for c1.
    raw.ws.send(
      encodeFrame({ type: FrameType.DATA, channel: c1.id, seq: 1, ack: 2, payload: Buffer.from([0xc3, 0x28]) }),
    );
    assert.deepEqual((await closed)[0], {
      code: CHANNEL_CLOSE.INVALID_DATA,
      reason: 'malformed frame: payload is not valid UTF-8',
    });
    const closeFrame = await raw.next((f) => f.type === FrameType.CLOSE && f.channel === c1.id);
    assert.deepEqual(JSON.parse(closeFrame.payload.toString()), {
      code: 1007,
      reason: 'malformed frame: payload is not valid UTF-8',
    });
    // c2 and the tunnel still work.
    const got = collect(c2, 1);
    raw.ws.send(encodeFrame({ type: FrameType.DATA, channel: c2.id, seq: 2, ack: 3, payload: Buffer.from('fine') }));
    assert.deepEqual(await got, ['fine']);
    assert.equal(c2.state, 'open');
    assert.equal(peer.online, true);
    // Broken framing (a sequence gap) closes this tunnel with 4400, and only this one.
    const wsClosed = once(raw.ws, 'close');
    raw.ws.send(encodeFrame({ type: FrameType.DATA, channel: c2.id, seq: 9, ack: 3, payload: Buffer.from('gap') }));
    const [code, reason] = (await wsClosed) as [number, Buffer];
    assert.equal(code, 4400);
    assert.equal(reason.toString(), 'sequence gap: expected 3, got 9');
    assert.equal(other.state, 'connected');
    assert.equal(hub.server.peer('gw2')!.online, true);
  });

  it('rejects a malformed OPEN at the gateway and tells the hub (raw hub)', async (t) => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    t.after(() => {
      for (const c of wss.clients) c.terminate();
      return new Promise<void>((r) => wss.close(() => r()));
    });
    await once(wss, 'listening');
    const fromGw: Frame[] = [];
    let wake: (() => void) | undefined;
    const challenge = { serverNonce: refNonce(), salt: randomBytes(16).toString('base64'), N: 1024, r: 8, p: 1 };
    let clientNonce = '';
    wss.on('connection', (ws) => {
      ws.on('message', (d: Buffer) => {
        const f = decodeFrame(d, 1 << 20);
        fromGw.push(f);
        wake?.();
        if (f.type === FrameType.HELLO) {
          clientNonce = JSON.parse(f.payload.toString()).clientNonce as string;
          ws.send(
            encodeFrame({
              type: FrameType.CHALLENGE,
              channel: 0,
              seq: 0,
              ack: 0,
              payload: Buffer.from(JSON.stringify(challenge)),
            }),
          );
          return;
        }
        if (f.type !== FrameType.PROOF) return;
        const { serverSignature } = refScram(SECRET, 'gw1', clientNonce, challenge);
        const welcome = { v: 1, session: 'sess1', resumed: false, recv: 0, serverSignature };
        ws.send(
          encodeFrame({
            type: FrameType.WELCOME,
            channel: 0,
            seq: 0,
            ack: 0,
            payload: Buffer.from(JSON.stringify(welcome)),
          }),
        );
        ws.send(encodeFrame({ type: FrameType.OPEN, channel: 7, seq: 1, ack: 0, payload: Buffer.from('[1,2]') }));
        ws.send(encodeFrame({ type: FrameType.OPEN, channel: 8, seq: 2, ack: 0, payload: Buffer.from('{"ok":true}') }));
      });
    });
    const port = (wss.address() as AddressInfo).port;
    const client = makeClient({ url: `ws://127.0.0.1:${port}/tunnel`, gatewayId: 'gw1', secret: SECRET });
    t.after(() => client.close());
    const opened = once(client, 'channel');
    client.start();
    const [ch] = (await opened) as [Channel];
    assert.equal(ch.id, 8, 'only the well-formed channel reaches the gateway');
    assert.deepEqual(ch.meta, { ok: true });
    while (!fromGw.some((f) => f.type === FrameType.CLOSE)) await new Promise<void>((r) => (wake = r));
    const close = fromGw.find((f) => f.type === FrameType.CLOSE)!;
    assert.equal(close.channel, 7);
    assert.deepEqual(JSON.parse(close.payload.toString()), {
      code: 1007,
      reason: 'malformed frame: OPEN meta must be a JSON object',
    });
    assert.equal(client.state, 'connected');
  });

  it('validates openChannel meta', async (t) => {
    const { peer } = await connected(t);
    assert.throws(() => peer.openChannel([] as unknown as Record<string, unknown>), TypeError);
  });
});

/** Resolves once the gateway has seen `n` channels. */
async function untilChannels(client: TunnelClient, list: Channel[], n: number): Promise<void> {
  while (list.length < n) await once(client, 'channel');
}
