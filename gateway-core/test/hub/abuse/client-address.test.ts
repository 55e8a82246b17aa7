/**
 * trustedProxies: which address the hub's limits and logs use, and the
 * proxy lock-out an attack run found — behind one TLS proxy, an attacker's
 * failures must not lock out the real gateway or the real viewer.
 */
import assert from 'node:assert/strict';
import { request, type IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { Gateway } from '../../../src/gateway/index.js';
import { ClientAddressResolver, Hub } from '../../../src/hub/index.js';
import { hashSecret, makeVerifier, TUNNEL_CLOSE } from '../../../src/tunnel/index.js';
import { addressKey, createLogger, memorySink } from '../../../src/util/index.js';
import { within, until } from '@camgate/test-helpers';
import { ForwardingProxy } from '../../helpers/forwarding-proxy.js';

function req(remoteAddress: string, headers: Record<string, string> = {}): IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as IncomingMessage;
}

describe('ClientAddressResolver', () => {
  it('uses the socket address when no proxy is trusted, whatever the headers say', () => {
    const r = new ClientAddressResolver();
    assert.equal(r.resolve(req('198.51.100.7', { 'x-forwarded-for': '192.0.2.1' })), '198.51.100.7');
    assert.equal(r.resolve(req('::ffff:198.51.100.7')), '198.51.100.7', 'IPv4-mapped IPv6 is normalised');
  });

  it('takes the right-most untrusted X-Forwarded-For hop from a trusted proxy; spoofed hops left of it are ignored', () => {
    const r = new ClientAddressResolver({ trustedProxies: ['10.0.0.0/8', '2001:db8:ffff::1'] });
    const xff = (v: string, peer = '10.0.0.2') => r.resolve(req(peer, { 'x-forwarded-for': v }));
    assert.equal(xff('203.0.113.66'), '203.0.113.66');
    assert.equal(xff('1.2.3.4, 203.0.113.66'), '203.0.113.66', 'the client wrote 1.2.3.4 itself');
    assert.equal(xff('203.0.113.66, 10.1.1.1'), '203.0.113.66', 'a second trusted proxy is skipped');
    assert.equal(xff('garbage, 203.0.113.66'), '203.0.113.66');
    assert.equal(xff('203.0.113.66, garbage'), '10.0.0.2', 'a hop that is not an address ends the walk');
    assert.equal(xff('10.1.1.1'), '10.1.1.1', 'all hops trusted: the left-most one');
    assert.equal(r.resolve(req('10.0.0.2')), '10.0.0.2', 'no header: the proxy itself');
    assert.equal(xff('203.0.113.66', '198.51.100.7'), '198.51.100.7', 'an untrusted peer is never believed');
    assert.equal(xff('2001:db8::5', '2001:db8:ffff::1'), '2001:db8::5');
  });

  it('reads Forwarded (RFC 7239) instead when configured, with quotes, ports and IPv6 brackets', () => {
    const r = new ClientAddressResolver({ trustedProxies: ['127.0.0.1'], forwardedHeader: 'forwarded' });
    const fwd = (v: string) => r.resolve(req('127.0.0.1', { forwarded: v, 'x-forwarded-for': '9.9.9.9' }));
    assert.equal(fwd('for=192.0.2.60;proto=https;by=203.0.113.43'), '192.0.2.60');
    assert.equal(fwd('for=1.1.1.1, for="[2001:db8:cafe::17]:4711"'), '2001:db8:cafe::17');
    assert.equal(fwd('for="192.0.2.60:8080"'), '192.0.2.60');
    assert.equal(fwd('for=unknown'), '127.0.0.1', 'an obfuscated hop is not believed');
  });

  it('refuses a bad trustedProxies entry with TypeError naming it', () => {
    assert.throws(() => new ClientAddressResolver({ trustedProxies: ['10.0.0.0/33'] }), {
      name: 'TypeError',
      message: /trustedProxies\[0\]: "10.0.0.0\/33" is not allowed/,
    });
    assert.throws(() => new ClientAddressResolver({ trustedProxies: ['proxy.example'] }), TypeError);
    assert.throws(
      () => new ClientAddressResolver({ forwardedHeader: 'x-real-ip' as 'forwarded' }),
      /forwardedHeader: x-real-ip is not allowed/,
    );
  });

  it('keys IPv6 clients by /64 so one line cannot rotate addresses to escape a limit', () => {
    assert.equal(addressKey('2001:db8:0:1:aaaa::1'), '2001:db8:0:1::/64');
    assert.equal(addressKey('2001:db8:0:1:bbbb:cccc:dddd:eeee'), '2001:db8:0:1::/64');
    assert.equal(addressKey('::1'), '0:0:0:0::/64');
    assert.equal(addressKey('::ffff:192.0.2.1'), '192.0.2.1');
    assert.equal(addressKey('192.0.2.1'), '192.0.2.1');
  });
});

const ALICE = { name: 'alice', password: 'alice-Pass-9Kd4' };
const GATEWAY_SECRET = 'gw-secret-Z6rT9qLm2vXc8HnB4pKw';

/** A raw tunnel connection through `port` that says hello for `gatewayId`; resolves with the close code. */
async function helloClose(port: number, gatewayId: string): Promise<number> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/tunnel`);
  ws.on('error', () => undefined);
  await within(new Promise((r) => ws.once('open', r)), 5_000, 'the tunnel upgrade');
  const { encodeFrame } = await import('../../../src/tunnel/frame.js');
  const { FrameType } = await import('../../../src/tunnel/constants.js');
  const hello = { v: 1, gatewayId, clientNonce: 'AAAAAAAAAAAAAAAAAAAAAAAA' };
  ws.send(
    encodeFrame({ type: FrameType.HELLO, channel: 0, seq: 0, ack: 0, payload: Buffer.from(JSON.stringify(hello)) }),
  );
  const code = await within(new Promise<number>((r) => ws.once('close', r)), 10_000, 'the close');
  return code;
}

describe('Hub behind a trusted proxy', () => {
  it('limits the attacker’s forwarded address: the real gateway and the real viewer behind the same proxy get in', async (t) => {
    const logs = memorySink();
    const hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      trustedProxies: ['127.0.0.1'],
      gateways: [{ id: 'home', name: 'Home', secretHash: await makeVerifier(GATEWAY_SECRET) }],
      tunnel: { maxAuthFailuresPerIp: 3 },
      viewer: {
        users: [{ name: ALICE.name, passwordHash: await hashSecret(ALICE.password), cameras: ['home/*'] }],
        login: { freeFailuresPerUser: 2, freeFailuresPerAddress: 4, baseDelayMs: 60_000 },
      },
      logger: createLogger('test', logs),
    });
    t.after(() => hub.close());
    const port = Number(new URL(hub.url).port);
    const attacker = await ForwardingProxy.start(port, 'X-Forwarded-For: 203.0.113.66');
    const home = await ForwardingProxy.start(port, 'X-Forwarded-For: 192.0.2.10');
    t.after(() => attacker.close());
    t.after(() => home.close());

    // Tunnel: wrong secrets for the real gateway id through the proxy, until the attacker is blocked.
    for (let i = 0; i < 3; i++) {
      const gw = Gateway.start({
        hub: { url: `ws://127.0.0.1:${attacker.port}/tunnel`, gatewayId: 'home', secret: 'wrong-secret-0123456789' },
        mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
        cameras: [],
      });
      await until(
        () => logs.records.filter((r) => r.msg === 'authentication failed').length,
        (n) => n > i,
        10_000,
        `failed authentication ${i + 1}`,
      );
      await gw.close();
    }
    assert.equal(await helloClose(attacker.port, 'home'), TUNNEL_CLOSE.RATE_LIMITED, 'the attacker is blocked');
    const failed = logs.records.filter((r) => r.msg === 'authentication failed');
    assert.ok(
      failed.every((r) => r.fields?.remoteAddress === '203.0.113.66'),
      'counted under the forwarded address',
    );

    const online = new Promise((resolve) => hub.on('gateway', (e) => e.online && resolve(e)));
    const gateway = Gateway.start({
      hub: { url: `ws://127.0.0.1:${home.port}/tunnel`, gatewayId: 'home', secret: GATEWAY_SECRET },
      mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
      cameras: [],
    });
    t.after(() => gateway.close());
    const e = (await within(online, 10_000, 'the real gateway online')) as { remoteAddress: string };
    assert.equal(e.remoteAddress, '192.0.2.10', 'the home address, not the proxy’s');

    // Sign-in: the attacker guesses alice's password through the proxy until it must wait.
    // One connection per request (agent: false): the proxy writes X-Forwarded-For on a connection's first request.
    const signIn = (proxyPort: number, password: string) =>
      within(
        new Promise<{ status: number }>((resolve, reject) => {
          const body = JSON.stringify({ name: ALICE.name, password });
          const r = request(
            {
              host: '127.0.0.1',
              port: proxyPort,
              path: '/login',
              method: 'POST',
              agent: false,
              headers: { 'Content-Type': 'application/json', Origin: `http://127.0.0.1:${proxyPort}` },
            },
            (res) => {
              res.resume();
              resolve({ status: res.statusCode ?? 0 });
            },
          );
          r.on('error', reject);
          r.end(body);
        }),
        10_000,
        'a sign-in answer',
      );
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await signIn(attacker.port, `guess-${i}-xxxxxxxx`)).status);
    assert.deepEqual(statuses, [401, 401, 429, 429]);
    assert.equal((await signIn(attacker.port, ALICE.password)).status, 429, 'the attacker’s address waits');
    assert.equal((await signIn(home.port, ALICE.password)).status, 200, 'alice at home signs in at once');
  });

  it('does not lock out a gateway that authenticated from the attacked address before', async (t) => {
    const logs = memorySink();
    const hub = await Hub.start({
      listen: { port: 0 },
      kurento: { port: 0 },
      trustedProxies: ['127.0.0.1'],
      gateways: [{ id: 'home', name: 'Home', secretHash: await makeVerifier(GATEWAY_SECRET) }],
      tunnel: { maxAuthFailuresPerIp: 2 },
      logger: createLogger('test', logs),
    });
    t.after(() => hub.close());
    // The gateway and the attacker share one address (CGNAT, or a proxy without trustedProxies).
    const shared = await ForwardingProxy.start(Number(new URL(hub.url).port), 'X-Forwarded-For: 100.64.0.9');
    t.after(() => shared.close());
    const url = `ws://127.0.0.1:${shared.port}/tunnel`;
    let gateway = Gateway.start({
      hub: { url, gatewayId: 'home', secret: GATEWAY_SECRET },
      mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
      cameras: [],
    });
    await until(
      () => hub.tunnels.peer('home')?.online ?? false,
      (v) => v,
      10_000,
      'the gateway online',
    );
    await gateway.close();
    await until(
      () => hub.tunnels.peer('home')?.online ?? false,
      (v) => !v,
      10_000,
      'the gateway offline',
    );

    for (const id of ['nobody-1', 'nobody-2']) {
      const gw = Gateway.start({
        hub: { url, gatewayId: id, secret: 'wrong-secret-0123456789' },
        mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
        cameras: [],
      });
      const n = logs.records.filter((r) => r.msg === 'authentication failed').length;
      await until(
        () => logs.records.filter((r) => r.msg === 'authentication failed').length,
        (m) => m > n,
        10_000,
        'a failure',
      );
      await gw.close();
    }
    assert.equal(await helloClose(shared.port, 'nobody-3'), TUNNEL_CLOSE.RATE_LIMITED, 'the address is blocked');
    gateway = Gateway.start({
      hub: { url, gatewayId: 'home', secret: GATEWAY_SECRET },
      mediaBackendUrl: 'ws://127.0.0.1:9/kurento',
      cameras: [],
    });
    t.after(() => gateway.close());
    await until(
      () => hub.tunnels.peer('home')?.online ?? false,
      (v) => v,
      10_000,
      'the real gateway back online',
    );
  });
});
