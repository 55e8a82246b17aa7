import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { createLogger, memorySink, SecretSet } from '../../src/util/index.js';
import { FrameType } from '../../src/tunnel/constants.js';
import { encodeFrame } from '../../src/tunnel/frame.js';
import { TUNNEL_CLOSE, TunnelServer, type TunnelPeer } from '../../src/tunnel/index.js';
import { openRaw, rawLogin } from '../helpers/scram.js';
import { makeClient, startHub, waitEvent, waitState } from '../helpers/tunnel.js';

const SECRET = 'correct-horse-battery-staple-1234';
const NONCE = 'AAAAAAAAAAAAAAAAAAAAAAAA';

function helloFrame(body: unknown): Buffer {
  return encodeFrame({ type: FrameType.HELLO, channel: 0, seq: 0, ack: 0, payload: Buffer.from(JSON.stringify(body)) });
}

/** Opens a raw ws to the hub and resolves with how the hub closed it. */
async function rawClose(url: string, send?: (ws: WebSocket) => void): Promise<{ code: number; reason: string }> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  await once(ws, 'open');
  send?.(ws);
  const [code, reason] = (await once(ws, 'close')) as [number, Buffer];
  return { code, reason: reason.toString() };
}

describe('TunnelServer', () => {
  describe('#handshake', () => {
    it('accepts the right secret: peer event, online, announce, remote address', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const peerP = waitEvent<[TunnelPeer]>(hub.server, 'peer');
      const client = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, announce: () => ({ cams: ['a'] }) });
      t.after(() => client.close());
      client.start();
      const [peer] = await peerP;
      await waitState(client, 'connected');
      assert.equal(peer.gatewayId, 'gw1');
      assert.equal(peer.online, true);
      assert.deepEqual(peer.announce, { cams: ['a'] });
      assert.equal(peer.remoteAddress, '127.0.0.1');
      assert.equal(hub.server.peer('gw1'), peer);
      assert.deepEqual(hub.server.peers(), [peer]);
    });

    it('refuses a wrong secret and an unknown id with the same code and reason, and stops retrying', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const results = [];
      for (const [id, secret] of [
        ['gw1', 'wrong-secret-000000'],
        ['nobody', SECRET],
      ] as const) {
        const client = makeClient({ url: hub.url, gatewayId: id, secret });
        t.after(() => client.close());
        client.start();
        results.push(await waitState(client, 'refused'));
        assert.equal(client.state, 'refused');
      }
      assert.deepEqual(results[0], { code: 'CAMGATE_TUNNEL_AUTH', reason: 'authentication failed' });
      assert.deepEqual(results[1], results[0]);
      assert.equal(hub.authCalls(), 2, 'one attempt each: refused clients do not retry');
      assert.equal(hub.server.peers().length, 0);
    });

    it('closes 4426 naming both versions when the hello speaks another version', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const res = await rawClose(hub.url, (ws) => ws.send(helloFrame({ v: 2, whatever: true })));
      assert.deepEqual(res, {
        code: TUNNEL_CLOSE.VERSION,
        reason: 'unsupported tunnel protocol version 2; this hub speaks version 1',
      });
      assert.equal(hub.authCalls(), 0);
    });

    it('newer wins: a second connection of the same id replaces the first, which gets 4409 and keeps retrying', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      // A long replaced backoff: the replaced client must be seen waiting to retry, not giving up.
      const a = makeClient({
        url: hub.url,
        gatewayId: 'gw1',
        secret: SECRET,
        replacedBackoff: { initialMs: 60_000, maxMs: 60_000 },
      });
      t.after(() => a.close());
      a.start();
      await waitState(a, 'connected');
      const peer = hub.server.peer('gw1')!;
      const b = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET });
      t.after(() => b.close());
      const replacedA = waitState(a, 'reconnecting');
      b.start();
      await waitState(b, 'connected');
      const info = await replacedA;
      assert.equal(info.code, 'CAMGATE_TUNNEL_REPLACED');
      assert.equal(info.reason, 'replaced by a newer connection of the same gateway');
      // 60 s ± 25 % jitter, never above maxMs.
      assert.ok(info.nextRetryMs! >= 45_000 && info.nextRetryMs! <= 60_000, String(info.nextRetryMs));
      assert.equal(a.state, 'reconnecting');
      assert.equal(hub.server.peer('gw1'), peer, 'the peer object persists across connections');
      assert.equal(peer.online, true);
    });

    it('closes 4400 when no hello arrives within helloTimeoutMs', async (t) => {
      const hub = await startHub({ gw1: SECRET }, { helloTimeoutMs: 50 });
      t.after(() => hub.close());
      assert.deepEqual(await rawClose(hub.url), { code: TUNNEL_CLOSE.PROTOCOL, reason: 'no hello within 50 ms' });
    });

    it('closes 4400 on garbage, text messages, a non-hello first frame and a malformed hello', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const cases: [string, (ws: WebSocket) => void, RegExp][] = [
        ['garbage', (ws) => ws.send(Buffer.from([1, 2, 3])), /frame too short/],
        ['text', (ws) => ws.send('{"v":1}'), /text messages/],
        ['unknown type', (ws) => ws.send(Buffer.alloc(13, 0xee)), /unknown frame type 0xee/],
        [
          'data first',
          (ws) => ws.send(encodeFrame({ type: FrameType.DATA, channel: 1, seq: 1, ack: 0 })),
          /first frame must be hello/,
        ],
        [
          'bad json',
          (ws) =>
            ws.send(encodeFrame({ type: FrameType.HELLO, channel: 0, seq: 0, ack: 0, payload: Buffer.from('{') })),
          /not valid JSON/,
        ],
        [
          'bad id',
          (ws) => ws.send(helloFrame({ v: 1, gatewayId: '../x', clientNonce: NONCE })),
          /malformed hello: gatewayId/,
        ],
        ['no nonce', (ws) => ws.send(helloFrame({ v: 1, gatewayId: 'gw1' })), /malformed hello: clientNonce/],
        [
          'short nonce',
          (ws) => ws.send(helloFrame({ v: 1, gatewayId: 'gw1', clientNonce: 'abc' })),
          /malformed hello: clientNonce/,
        ],
        [
          'hostile nonce',
          (ws) => ws.send(helloFrame({ v: 1, gatewayId: 'gw1', clientNonce: 'x'.repeat(60) + ',N=1' })),
          /malformed hello: clientNonce/,
        ],
        [
          'secret in hello (old form)',
          (ws) => ws.send(helloFrame({ v: 1, gatewayId: 'gw1', secret: SECRET })),
          /malformed hello: clientNonce/,
        ],
      ];
      for (const [name, send, reason] of cases) {
        const res = await rawClose(hub.url, send);
        assert.equal(res.code, TUNNEL_CLOSE.PROTOCOL, name);
        assert.match(res.reason, reason, name);
      }
      assert.equal(hub.authCalls(), 0);
    });

    it('closes oversized messages (ws maxPayload = maxFrameBytes, close 1009)', async (t) => {
      const hub = await startHub({ gw1: SECRET }, { maxFrameBytes: 4096 });
      t.after(() => hub.close());
      const res = await rawClose(hub.url, (ws) => ws.send(Buffer.alloc(5000)));
      assert.equal(res.code, 1009);
    });

    it('answers 4429 after too many failed attempts from one address', async (t) => {
      const hub = await startHub({ gw1: SECRET }, { maxAuthFailuresPerIp: 2 });
      t.after(() => hub.close());
      for (let i = 0; i < 2; i++) {
        const conn = await openRaw(hub.url);
        await rawLogin(conn, 'gw1', 'nope-nope');
        assert.equal((await conn.closed).code, TUNNEL_CLOSE.AUTH);
      }
      const good = (ws: WebSocket) => ws.send(helloFrame({ v: 1, gatewayId: 'gw1', clientNonce: NONCE }));
      const res = await rawClose(hub.url, good);
      assert.equal(res.code, TUNNEL_CLOSE.RATE_LIMITED);
      assert.match(res.reason, /too many failed authentication attempts/);
      assert.equal(hub.authCalls(), 2, 'a rate-limited hello is not even checked');
    });

    it('answers HTTP 429 beyond maxPendingHellosPerIp', async (t) => {
      const hub = await startHub({ gw1: SECRET }, { maxPendingHellosPerIp: 1 });
      t.after(() => hub.close());
      const first = new WebSocket(hub.url);
      first.on('error', () => {});
      t.after(() => first.terminate());
      await once(first, 'open');
      const second = new WebSocket(hub.url);
      second.on('error', () => {});
      const [, res] = (await once(second, 'unexpected-response')) as [unknown, { statusCode: number }];
      assert.equal(res.statusCode, 429);
      second.terminate();
    });

    it('never logs the secret, on success or failure', async (t) => {
      const sink = memorySink();
      const logger = createLogger('hub', sink, new SecretSet());
      const hub = await startHub({ gw1: SECRET }, { logger });
      t.after(() => hub.close());
      const ok = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, logger });
      t.after(() => ok.close());
      ok.start();
      await waitState(ok, 'connected');
      const bad = makeClient({ url: hub.url, gatewayId: 'gw1', secret: 'wrong-secret-value-999', logger });
      t.after(() => bad.close());
      bad.start();
      await waitState(bad, 'refused');
      assert.ok(sink.records.length > 2, 'something was logged');
      const all = JSON.stringify(sink.records);
      assert.equal(all.includes(SECRET), false);
      assert.equal(all.includes('wrong-secret-value-999'), false);
    });
  });

  describe('#options', () => {
    it('validates options loudly, naming option and value', () => {
      const lookupVerifier = async () => undefined;
      assert.throws(() => new TunnelServer({ lookupVerifier, maxChannels: 0 }), {
        name: 'RangeError',
        message: 'TunnelServer: option maxChannels must be between 1 and 1000000, got 0',
      });
      assert.throws(() => new TunnelServer({ lookupVerifier, heartbeatMs: '5' as unknown as number }), {
        name: 'TypeError',
        message: 'TunnelServer: option heartbeatMs must be an integer, got "5"',
      });
      assert.throws(() => new TunnelServer({ lookupVerifier, heartbeatMs: 1000, deadAfterMs: 500 }), RangeError);
      assert.throws(() => new TunnelServer({} as never), /option lookupVerifier must be a function/);
      assert.throws(
        () => new TunnelServer({ lookupVerifier, authorize: 'yes' as never }),
        /option authorize must be a function/,
      );
      assert.throws(
        () => new TunnelServer({ lookupVerifier, fakeSaltKey: Buffer.alloc(4) }),
        /option fakeSaltKey must be a Buffer of at least 16 bytes/,
      );
    });
  });
});
