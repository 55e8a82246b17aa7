/**
 * Bad input from the network (ARCHITECTURE.md "Security rules"): at the hub's
 * Kurento endpoint and at the tunnel, sent with raw `ws` clients and raw
 * frame bytes (docs/tunnel.md "Frame layout"). Each bad input gets a clear
 * answer or closes only its own connection; the tunnel of the real gateway,
 * other Kurento connections and other gateways keep working.
 */
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { Gateway } from '../../src/gateway/index.js';
import { FrameType, TUNNEL_CLOSE } from '../../src/tunnel/constants.js';
import { ScramClient } from '../../src/tunnel/client-auth.js';
import { parseChallenge } from '../../src/tunnel/handshake.js';
import { makeNonce } from '../../src/tunnel/scram.js';
import { makeVerifier } from '../../src/tunnel/index.js';
import { startStack, type Stack, waitUntil } from '@camgate/test-helpers';

const HUB_MAX_MESSAGE = 64 * 1024; // the hub's Kurento endpoint limit in these tests
const MAX_CHANNELS = 8; // per tunnel, at the hub
const FAKE_ID = 'fake-gw';
const FAKE_SECRET = 'fake-secret-Qw3Er5Ty7Ui9';
const OTHER_ID = 'home-2';
const OTHER_SECRET = 'other-secret-Zx2Cv4Bn6Mm8';

/** Opens a raw WebSocket and collects its text messages. */
async function raw(url: string): Promise<{ ws: WebSocket; next(): Promise<Record<string, unknown>> }> {
  const ws = new WebSocket(url);
  const inbox: Record<string, unknown>[] = [];
  const waiters: ((m: Record<string, unknown>) => void)[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(d.toString()) as Record<string, unknown>;
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  ws.on('error', () => undefined);
  await once(ws, 'open');
  return {
    ws,
    next: () => (inbox.length ? Promise.resolve(inbox.shift()!) : new Promise((r) => waiters.push(r))),
  };
}

/** One JSON-RPC ping over a fresh connection; resolves with the result. */
async function ping(url: string): Promise<unknown> {
  const c = await raw(url);
  try {
    c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: {} }));
    return (await c.next()).result;
  } finally {
    c.ws.close();
  }
}

/** A tunnel frame by hand: type u8, channel u32, seq u32, ack u32, payload (docs/tunnel.md). */
function frame(type: number, channel: number, seq: number, ack: number, payload: Buffer | string = ''): Buffer {
  const body = Buffer.from(payload);
  const b = Buffer.alloc(13 + body.length);
  b.writeUInt8(type, 0);
  b.writeUInt32BE(channel, 1);
  b.writeUInt32BE(seq, 5);
  b.writeUInt32BE(ack, 9);
  body.copy(b, 13);
  return b;
}

/** A gateway that speaks the handshake (SCRAM) correctly by hand, then whatever the test sends. */
async function fakeGateway(tunnelUrl: string): Promise<WebSocket> {
  const ws = new WebSocket(tunnelUrl);
  ws.on('error', () => undefined);
  await once(ws, 'open');
  const hello = { v: 1, gatewayId: FAKE_ID, clientNonce: makeNonce() };
  ws.send(frame(FrameType.HELLO, 0, 0, 0, JSON.stringify(hello)));
  const [challengeBytes] = (await once(ws, 'message')) as [Buffer];
  assert.equal(challengeBytes[0], FrameType.CHALLENGE);
  const challenge = parseChallenge(JSON.parse(challengeBytes.subarray(13).toString()));
  const exchange = await new ScramClient(FAKE_SECRET).answer(1, FAKE_ID, hello.clientNonce, challenge);
  ws.send(frame(FrameType.PROOF, 0, 0, 0, JSON.stringify({ clientProof: exchange.clientProof, announce: null })));
  const [welcome] = (await once(ws, 'message')) as [Buffer];
  assert.equal(welcome[0], FrameType.WELCOME, 'the fake gateway is authenticated');
  return ws;
}

async function closeCode(ws: WebSocket): Promise<{ code: number; reason: string }> {
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

describe('Bad input at the hub and the tunnel', () => {
  let stack: Stack;
  let other: Gateway;
  let accepted: number;

  before(async () => {
    stack = await startStack({ hub: { maxMessageBytes: HUB_MAX_MESSAGE, tunnel: { maxChannels: MAX_CHANNELS } } });
    stack.hub.directory.add({ id: FAKE_ID, secretHash: await makeVerifier(FAKE_SECRET) });
    stack.hub.directory.add({ id: OTHER_ID, secretHash: await makeVerifier(OTHER_SECRET) });
    other = Gateway.start({
      hub: { url: stack.hub.tunnelUrl, gatewayId: OTHER_ID, secret: OTHER_SECRET },
      mediaBackendUrl: stack.engine.url,
    });
    await waitUntil(() => other.tunnelState === 'connected', 'the second gateway online');
    accepted = stack.proxy.accepted;
  });
  after(async () => {
    await other.close();
    await stack.close();
  });

  describe('Kurento endpoint', () => {
    it('answers malformed JSON with a JSON-RPC parse error and keeps the connection', async (t) => {
      const c = await raw(stack.kurentoUrl);
      t.after(() => c.ws.close());
      for (const garbage of ['{"jsonrpc":"2.0","id":1,', 'not json at all', '\u0000\u00ff', '[]', '{}']) {
        c.ws.send(garbage);
        const reply = await c.next();
        assert.equal(reply.id, null, garbage);
        const error = reply.error as { code: number; message: string };
        assert.ok(error.code === -32700 || error.code === -32600, `${garbage}: ${JSON.stringify(error)}`);
      }
      c.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping', params: {} }));
      const pong = await c.next();
      assert.equal(pong.id, 7);
      assert.deepEqual((pong.result as { value: string }).value, 'pong', 'the same connection still works');
    });

    it('closes an oversized message with 1009, and only that connection', async (t) => {
      const bystander = await raw(stack.kurentoUrl);
      t.after(() => bystander.ws.close());
      const c = await raw(stack.kurentoUrl);
      const closed = closeCode(c.ws);
      c.ws.send(
        JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(HUB_MAX_MESSAGE) } }),
      );
      assert.equal((await closed).code, 1009);
      bystander.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: {} }));
      assert.equal(((await bystander.next()).result as { value: string }).value, 'pong');
    });

    it('refuses a flood of connections beyond the channel limit clearly; the tunnel and the other gateway stay up', async (t) => {
      const sockets: WebSocket[] = [];
      t.after(() => sockets.forEach((s) => s.terminate()));
      const outcomes = await Promise.all(
        Array.from({ length: MAX_CHANNELS * 3 }, async () => {
          const ws = new WebSocket(stack.kurentoUrl);
          sockets.push(ws);
          ws.on('error', () => undefined);
          return new Promise<{ open: true } | { status: number; body: string }>((resolve) => {
            ws.once('open', () => resolve({ open: true }));
            ws.once('unexpected-response', (_req, res) => {
              let body = '';
              res.setEncoding('utf8').on('data', (d: string) => (body += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
            });
          });
        }),
      );
      const opened = outcomes.filter((o) => 'open' in o).length;
      const refused = outcomes.filter((o): o is { status: number; body: string } => 'status' in o);
      assert.ok(opened <= MAX_CHANNELS, `${opened} opened`);
      assert.ok(refused.length >= MAX_CHANNELS * 2, `${refused.length} refused`);
      for (const r of refused) {
        assert.equal(r.status, 503);
        assert.match(r.body, /channel limit/);
      }
      assert.equal(stack.gateway.tunnelState, 'connected');
      assert.deepEqual(await ping(stack.hub.kurentoUrl(OTHER_ID)), { value: 'pong' }, 'the other gateway serves');
      for (const s of sockets) s.terminate();
      await waitUntil(() => (stack.hub.tunnels.peer('home-1')?.channelCount ?? 0) === 0, 'the channels to close');
      assert.deepEqual(await ping(stack.kurentoUrl), { value: 'pong' }, 'the flooded gateway serves again');
      assert.equal(stack.proxy.accepted, accepted, 'the real tunnel never reconnected');
    });
  });

  describe('Tunnel from a fake gateway', () => {
    const cases: [string, (ws: WebSocket) => void][] = [
      ['an unknown frame type', (ws) => ws.send(frame(0x7f, 0, 0, 0))],
      ['a frame shorter than its header', (ws) => ws.send(Buffer.from([FrameType.DATA, 0, 0]))],
      ['a text message', (ws) => ws.send('{"type":"DATA"}')],
      ['a sequence gap', (ws) => ws.send(frame(FrameType.CONTROL, 0, 5, 0, '{}'))],
      ['an OPEN frame (hub-only type)', (ws) => ws.send(frame(FrameType.OPEN, 1, 1, 0, '{}'))],
    ];
    for (const [what, send] of cases) {
      it(`closes the tunnel with 4400 on ${what}; the real gateway keeps working`, async () => {
        const ws = await fakeGateway(stack.hub.tunnelUrl);
        const closed = closeCode(ws);
        send(ws);
        const { code, reason } = await closed;
        assert.equal(code, TUNNEL_CLOSE.PROTOCOL, reason);
        assert.ok(reason.length > 0, 'the close names the violation');
        assert.deepEqual(await ping(stack.kurentoUrl), { value: 'pong' });
        assert.equal(stack.gateway.tunnelState, 'connected');
        assert.equal(stack.proxy.accepted, accepted, 'the real tunnel never reconnected');
      });
    }

    it('closes a connection that sends garbage instead of a hello with 4400', async () => {
      const ws = new WebSocket(stack.hub.tunnelUrl);
      ws.on('error', () => undefined);
      await once(ws, 'open');
      const closed = closeCode(ws);
      ws.send(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
      assert.equal((await closed).code, TUNNEL_CLOSE.PROTOCOL);
      assert.deepEqual(await ping(stack.kurentoUrl), { value: 'pong' });
    });
  });
});
