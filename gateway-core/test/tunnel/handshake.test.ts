import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes, scryptSync } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameType } from '../../src/tunnel/constants.js';
import { decodeFrame, encodeFrame, type Frame } from '../../src/tunnel/frame.js';
import { parseWelcome } from '../../src/tunnel/handshake.js';
import { makeVerifier, parseVerifier, TUNNEL_CLOSE, type AuthRequest, type Channel } from '../../src/tunnel/index.js';
import { createLogger, memorySink, SecretSet } from '../../src/util/index.js';
import { unmaskClientStream, TcpProxy } from '@camgate/test-helpers';
import { json, openRaw, rawLogin, refNonce } from '../helpers/scram.js';
import { collect, makeClient, startHub, verifierFor, waitState } from '../helpers/tunnel.js';

const SECRET = 'handshake-secret-R4nd0m-value';

/** A hub impostor speaking raw frames: answers hello with `challenge`, proof with `welcome(proof)`. */
async function startFakeHub(
  t: { after: (fn: () => unknown) => void },
  challenge: Record<string, unknown>,
  welcome?: (proof: Record<string, unknown>) => Record<string, unknown>,
) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  t.after(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  await once(wss, 'listening');
  const fromGw: Frame[] = [];
  const closes: number[] = [];
  const send = (ws: WebSocket, type: number, body: unknown) =>
    ws.send(encodeFrame({ type: type as 1, channel: 0, seq: 0, ack: 0, payload: Buffer.from(JSON.stringify(body)) }));
  wss.on('connection', (ws) => {
    ws.on('close', (code) => closes.push(code));
    ws.on('message', (d: Buffer) => {
      const f = decodeFrame(d, 1 << 20);
      fromGw.push(f);
      if (f.type === FrameType.HELLO) send(ws, FrameType.CHALLENGE, challenge);
      if (f.type === FrameType.PROOF && welcome) send(ws, FrameType.WELCOME, welcome(json(f)));
    });
  });
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/tunnel`, fromGw, closes };
}

describe('tunnel handshake (SCRAM)', () => {
  describe('hub side', () => {
    it('answers an unknown id with a fake salt from fakeSaltKey, then the same 4401 and reason as a wrong secret', async (t) => {
      const fakeSaltKey = randomBytes(32);
      const hub = await startHub({ gw1: SECRET }, { fakeSaltKey });
      t.after(() => hub.close());
      const outcomes = [];
      for (const [id, secret] of [
        ['gw1', 'not-the-secret'],
        ['ghost', SECRET],
        ['ghost', SECRET],
      ] as const) {
        const conn = await openRaw(hub.url);
        const { challenge } = await rawLogin(conn, id, secret);
        outcomes.push({ challenge, close: await conn.closed });
      }
      const [wrong, unknown, unknownAgain] = outcomes;
      assert.deepEqual(wrong!.close, { code: TUNNEL_CLOSE.AUTH, reason: 'authentication failed' });
      assert.deepEqual(unknown!.close, wrong!.close);
      assert.equal(
        unknown!.challenge.salt,
        createHmac('sha256', fakeSaltKey).update('ghost').digest().subarray(0, 16).toString('base64'),
        'the unknown id was challenged with its deterministic fake salt',
      );
      assert.equal(unknownAgain!.challenge.salt, unknown!.challenge.salt);
      const real = parseVerifier(await verifierFor(SECRET));
      assert.equal(wrong!.challenge.salt, real.salt.toString('base64'));
      // Same shape as a real challenge: same cost, same salt length, fresh nonces.
      for (const k of ['N', 'r', 'p'] as const) assert.equal(unknown!.challenge[k], wrong!.challenge[k]);
      assert.equal(Buffer.from(unknown!.challenge.salt, 'base64').length, real.salt.length);
      assert.notEqual(unknownAgain!.challenge.serverNonce, unknown!.challenge.serverNonce);
      assert.equal(hub.server.peers().length, 0);
    });

    it('refuses a proof replayed from an earlier connection (fresh server nonce)', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const first = await openRaw(hub.url);
      t.after(() => first.ws.terminate());
      const login = await rawLogin(first, 'gw1', SECRET);
      const welcome = json(await first.next((f) => f.type === FrameType.WELCOME));
      assert.equal(welcome.serverSignature, login.expectedSignature, 'the first connection is genuine');
      // An eavesdropper replays the same hello (same client nonce) and the same proof.
      const replay = await openRaw(hub.url);
      replay.send(FrameType.HELLO, { v: 1, gatewayId: 'gw1', clientNonce: login.clientNonce });
      const challenge = json(await replay.next((f) => f.type === FrameType.CHALLENGE));
      assert.notEqual(challenge.serverNonce, login.challenge.serverNonce);
      replay.send(FrameType.PROOF, login.proof);
      assert.deepEqual(await replay.closed, { code: TUNNEL_CLOSE.AUTH, reason: 'authentication failed' });
      assert.equal(hub.server.peer('gw1')!.online, true, 'the genuine connection was not replaced');
    });

    it('closes 4400 on a malformed proof, a frame out of order, and a missing proof', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      // A short deadline only where it is the subject: the reference scrypt may take longer on a busy machine.
      const hasty = await startHub({ gw1: SECRET }, { helloTimeoutMs: 200 });
      t.after(() => hasty.close());
      const bad = await openRaw(hub.url);
      await rawLogin(bad, 'gw1', SECRET, { tamper: (p) => (p.clientProof = 'AAAA') });
      assert.deepEqual(await bad.closed, {
        code: 4400,
        reason: 'malformed proof: clientProof must be base64 of 32 bytes',
      });
      const early = await openRaw(hub.url);
      early.send(FrameType.HELLO, { v: 1, gatewayId: 'gw1', clientNonce: refNonce() });
      early.send(FrameType.HELLO, { v: 1, gatewayId: 'gw1', clientNonce: refNonce() });
      assert.equal((await early.closed).code, 4400);
      const silent = await openRaw(hasty.url);
      silent.send(FrameType.HELLO, { v: 1, gatewayId: 'gw1', clientNonce: refNonce() });
      await silent.next((f) => f.type === FrameType.CHALLENGE);
      assert.deepEqual(await silent.closed, { code: 4400, reason: 'no proof within 200 ms' });
    });

    it('runs the authorize hook after a valid proof; its refusal is the same 4401', async (t) => {
      const seen: AuthRequest[] = [];
      const hub = await startHub(
        { gw1: SECRET, gw2: SECRET },
        {
          authorize: (req) => {
            seen.push(req);
            return req.gatewayId === 'gw1' ? { ok: true } : { ok: false, reason: 'gw2 is suspended' };
          },
        },
      );
      t.after(() => hub.close());
      const ok = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET, announce: () => ({ cameras: [] }) });
      t.after(() => ok.close());
      ok.start();
      await waitState(ok, 'connected');
      const no = makeClient({ url: hub.url, gatewayId: 'gw2', secret: SECRET });
      t.after(() => no.close());
      no.start();
      assert.deepEqual(await waitState(no, 'refused'), {
        code: 'CAMGATE_TUNNEL_AUTH',
        reason: 'authentication failed',
      });
      assert.deepEqual(seen[0], {
        gatewayId: 'gw1',
        version: 1,
        announce: { cameras: [] },
        remoteAddress: '127.0.0.1',
      });
      assert.equal(seen[1]!.gatewayId, 'gw2');
      const wrong = makeClient({ url: hub.url, gatewayId: 'gw1', secret: 'wrong-one' });
      t.after(() => wrong.close());
      wrong.start();
      await waitState(wrong, 'refused');
      assert.equal(seen.length, 2, 'authorize is not asked about a wrong proof');
    });
  });

  describe('gateway side', () => {
    it('refuses a hub that holds StoredKey but not this ServerKey: no mutual authentication, no retry', async (t) => {
      const real = await verifierFor(SECRET);
      const parts = real.split('$');
      parts[6] = randomBytes(32).toString('base64'); // a hub that can check proofs but cannot sign
      const forged = parts.join('$');
      let lookups = 0;
      const hub = await startHub(
        {},
        {
          lookupVerifier: () => {
            lookups++;
            return forged;
          },
        },
      );
      t.after(() => hub.close());
      const client = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET });
      t.after(() => client.close());
      const channels: Channel[] = [];
      client.on('channel', (c) => channels.push(c));
      client.start();
      const info = await waitState(client, 'refused');
      assert.equal(info.code, 'CAMGATE_TUNNEL_AUTH');
      assert.match(info.reason!, /server signature does not match: it does not hold this gateway's verifier/);
      assert.equal(lookups, 1, 'refused: the gateway does not retry');
      assert.equal(channels.length, 0);
    });

    it('refuses an impostor hub without any verifier (it can only guess the signature)', async (t) => {
      const salt = randomBytes(16).toString('base64');
      const fake = await startFakeHub(t, { serverNonce: refNonce(), salt, N: 1024, r: 8, p: 1 }, () => ({
        v: 1,
        session: 'sess1',
        resumed: false,
        recv: 0,
        serverSignature: randomBytes(32).toString('base64'),
      }));
      const client = makeClient({ url: fake.url, gatewayId: 'gw1', secret: SECRET });
      t.after(() => client.close());
      client.start();
      const info = await waitState(client, 'refused');
      assert.equal(info.code, 'CAMGATE_TUNNEL_AUTH');
      assert.match(info.reason!, /server signature does not match/);
      assert.equal(client.stats().session, '', 'the forged welcome was not taken');
    });

    for (const [name, hostile] of [
      ['N = 2^30', { N: 2 ** 30, r: 8, p: 1 }],
      ['r = 1e6', { N: 16384, r: 1e6, p: 1 }],
      ['N·r = 2^25', { N: 2 ** 20, r: 32, p: 1 }],
    ] as const) {
      it(`refuses a hostile challenge (${name}) without running scrypt`, async (t) => {
        const fake = await startFakeHub(t, {
          serverNonce: refNonce(),
          salt: randomBytes(16).toString('base64'),
          ...hostile,
        });
        const client = makeClient({ url: fake.url, gatewayId: 'gw1', secret: SECRET });
        t.after(() => client.close());
        client.start();
        const info = await waitState(client, 'refused');
        assert.equal(info.code, 'CAMGATE_TUNNEL_AUTH');
        assert.match(info.reason!, /^the hub asked for scrypt parameters out of bounds: /);
        assert.equal(client.stats().scryptRuns, 0);
        assert.deepEqual(
          fake.fromGw.map((f) => f.type),
          [FrameType.HELLO],
          'no proof was sent',
        );
      });
    }

    it('reconnects after an outage without paying scrypt again', async (t) => {
      const hub = await startHub({ gw1: SECRET });
      t.after(() => hub.close());
      const proxy = await TcpProxy.create({ port: hub.port });
      t.after(() => proxy.close());
      const client = makeClient({ url: `ws://127.0.0.1:${proxy.port}/tunnel`, gatewayId: 'gw1', secret: SECRET });
      t.after(() => client.close());
      client.start();
      await waitState(client, 'connected');
      const session = client.stats().session;
      for (let i = 0; i < 3; i++) {
        proxy.sever();
        await waitState(client, 'reconnecting');
        proxy.restore();
        await waitState(client, 'connected');
      }
      assert.equal(client.stats().scryptRuns, 1);
      assert.equal(client.stats().session, session, 'the session resumed each time');
    });
  });

  it('the hub receives neither the secret nor anything it could log in with (every byte recorded)', async (t) => {
    const sink = memorySink();
    const logger = createLogger('t', sink, new SecretSet());
    const hub = await startHub({ gw1: SECRET }, { logger: logger.child('hub') });
    t.after(() => hub.close());
    const proxy = await TcpProxy.create({ port: hub.port });
    t.after(() => proxy.close());
    const client = makeClient({
      url: `ws://127.0.0.1:${proxy.port}/tunnel`,
      gatewayId: 'gw1',
      secret: SECRET,
      logger: logger.child('gw'),
    });
    t.after(() => client.close());
    const opened = once(client, 'channel');
    client.start();
    await waitState(client, 'connected');
    const ch = hub.server.peer('gw1')!.openChannel({ purpose: 'test' });
    const [gw] = (await opened) as [Channel];
    const atHub = collect(ch, 3);
    for (const m of ['one', 'two', 'three']) gw.send(m);
    assert.deepEqual(await atHub, ['one', 'two', 'three']);
    proxy.sever(); // and a second handshake, resuming
    await waitState(client, 'reconnecting');
    proxy.restore();
    await waitState(client, 'connected');
    const again = collect(ch, 1);
    gw.send('after');
    assert.deepEqual(await again, ['after']);

    // Client frames are masked (RFC 6455 §5.3): search what the hub decodes, and the raw bytes too.
    const rawBytes = Buffer.concat(proxy.upstreamBytes);
    const toHub = unmaskClientStream(proxy.upstreamBytes);
    assert.ok(toHub.length > 200, 'the traffic was recorded');
    assert.equal(toHub.toString().split('"clientProof"').length - 1, 2, 'both handshakes were recorded and decoded');
    for (const m of ['one', 'two', 'three', 'after']) assert.ok(toHub.includes(m), `channel traffic ${m} decoded`);
    // What would let the hub (or an eavesdropper) impersonate the gateway: the secret in any encoding, and the
    // SCRAM intermediates SaltedPassword and ClientKey.
    const v = parseVerifier(await verifierFor(SECRET));
    const salted = scryptSync(SECRET, v.salt, 32, { N: v.N, r: v.r, p: v.p });
    const clientKey = createHmac('sha256', salted).update('Client Key').digest();
    assert.deepEqual(createHash('sha256').update(clientKey).digest(), v.storedKey, 'the intermediates are right');
    const forbidden: [string, Buffer][] = [];
    const raw = Buffer.from(SECRET, 'utf8');
    for (const enc of ['utf8', 'base64', 'base64url', 'hex'] as const) {
      forbidden.push([`secret/${enc}`, Buffer.from(raw.toString(enc))]);
      forbidden.push([`SaltedPassword/${enc}`, Buffer.from(salted.toString(enc))]);
      forbidden.push([`ClientKey/${enc}`, Buffer.from(clientKey.toString(enc))]);
    }
    forbidden.push(
      ['secret/utf16', Buffer.from(SECRET, 'utf16le')],
      ['SaltedPassword/raw', salted],
      ['ClientKey/raw', clientKey],
    );
    for (const [name, bytes] of forbidden) {
      assert.equal(toHub.includes(bytes), false, `the hub received ${name}`);
      assert.equal(rawBytes.includes(bytes), false, `the hub received ${name} (raw)`);
    }
    const logs = JSON.stringify(sink.records);
    for (const [name, bytes] of forbidden.slice(0, 12)) {
      assert.equal(logs.includes(bytes.toString()), false, `a log line holds ${name}`);
    }
  });

  it('makeVerifier output drives a real hub end to end', async (t) => {
    const verifier = await makeVerifier(SECRET, { N: 2048, r: 8, p: 1 });
    const hub = await startHub({}, { lookupVerifier: (id) => (id === 'gw1' ? verifier : undefined) });
    t.after(() => hub.close());
    const client = makeClient({ url: hub.url, gatewayId: 'gw1', secret: SECRET });
    t.after(() => client.close());
    client.start();
    await waitState(client, 'connected');
    assert.equal(hub.server.peer('gw1')!.online, true);
  });
});

describe('parseWelcome mediaRelays', () => {
  const welcome = { v: 1, session: 'abc', resumed: false, recv: 0, serverSignature: 'c2ln' };

  it('is empty when an older hub sends none, and keeps what a hub advertises', () => {
    assert.deepEqual(parseWelcome(welcome).mediaRelays, []);
    const relays = ['turn:turn.example.com:3478?transport=udp', 'turns:turn.example.com'];
    assert.deepEqual(parseWelcome({ ...welcome, mediaRelays: relays }).mediaRelays, relays);
  });

  it('refuses a list that is not at most 16 short strings (CAMGATE_TUNNEL_PROTOCOL, no value echoed)', () => {
    for (const mediaRelays of ['turn:x', [1], [''], ['x'.repeat(301)], new Array(17).fill('turn:x'), { a: 1 }]) {
      assert.throws(
        () => parseWelcome({ ...welcome, mediaRelays }),
        (err: Error & { code?: string }) =>
          err.code === 'CAMGATE_TUNNEL_PROTOCOL' &&
          /mediaRelays must be/.test(err.message) &&
          !err.message.includes('xxxx'),
      );
    }
  });
});
