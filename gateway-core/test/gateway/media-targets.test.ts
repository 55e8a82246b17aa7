/**
 * A compromised hub steering home traffic (issue 12 finding 2), replayed
 * against the real built-in engine behind a real hub and gateway. Each attack
 * is first shown to work straight against the engine (nothing in front of
 * it), then shown to do no harm through the gateway's policy.
 */
import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net, { type AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { KurentoClient, KurentoRpcError } from '../../src/kurento/index.js';
import { startStack, type Stack, type StackOptions } from '@camgate/test-helpers';

const TURN_SECRET = 'coturn-static-secret-for-tests';
/** How long a refused attack is watched for traffic that must not come (a failing test, not a slow one). */
const QUIET_MS = 3_000;
/** Bound on the positive controls: the engine reaches the canary long before this. */
const CONTROL_MS = 15_000;

/**
 * A TCP listener that counts connections: the "LAN service" a TURN-over-TCP scan would touch. It listens on
 * 127.0.0.2 (all of 127/8 is loopback on Linux), a host other than the hub's 127.0.0.1, which the gateway
 * allows by default.
 */
const LAN_HOST = '127.0.0.2';
async function tcpCanary(t: TestContext): Promise<{ port: number; hits: () => number; hit: Promise<void> }> {
  let hits = 0;
  let onHit!: () => void;
  const hit = new Promise<void>((resolve) => (onHit = resolve));
  const server = net.createServer((s) => {
    hits++;
    onHit();
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, LAN_HOST, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port: (server.address() as AddressInfo).port, hits: () => hits, hit };
}

/** A UDP socket that counts datagrams: the target of STUN or RTP the hub would choose. */
async function udpCanary(t: TestContext, host = LAN_HOST): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const sock = dgram.createSocket('udp4');
  sock.on('message', () => hits++);
  await new Promise<void>((resolve) => sock.bind(0, host, resolve));
  t.after(() => new Promise<void>((resolve) => sock.close(() => resolve())));
  return { port: sock.address().port, hits: () => hits };
}

async function stack(t: TestContext, opts: StackOptions = {}): Promise<Stack> {
  // The gateway's defaults: no LAN viewers, no RtpEndpoint, relays = the hub's host + what it advertises.
  const s = await startStack({ ...opts, gateway: { allowLanViewers: false, ...opts.gateway } });
  t.after(() => s.close());
  return s;
}

async function client(t: TestContext, url: string): Promise<KurentoClient> {
  const c = await KurentoClient.connect(url, { requestTimeoutMs: 10_000 });
  t.after(() => c.close());
  return c;
}

/** The rule of a policy refusal, or a failure when the request was not refused by the policy. */
async function refusedRule(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof KurentoRpcError, String(err));
    const data = err.data.data as { code?: string; rule?: string } | undefined;
    assert.equal(data?.code, 'CAMGATE_POLICY_DENIED', err.message);
    return data!.rule!;
  }
  assert.fail('the request was forwarded');
}

/** Pipeline + WebRtcEndpoint, then the hub's TURN URL, then gathering (where the engine contacts TURN). */
async function turnAttack(c: KurentoClient, turnUrl: string): Promise<{ setTurn: Promise<unknown> }> {
  const pipeline = await c.create('MediaPipeline');
  const webrtc = await c.create('WebRtcEndpoint', { mediaPipeline: pipeline });
  const setTurn = c.invoke(webrtc, 'setTurnUrl', { turnUrl });
  await setTurn.catch(() => undefined);
  await c.invoke(webrtc, 'generateOffer');
  await c.invoke(webrtc, 'gatherCandidates');
  return { setTurn };
}

describe('media targets against the real engine', { concurrency: 1 }, () => {
  it('TURN over TCP to a LAN port: the engine alone connects; through the gateway it is refused and nothing connects', async (t) => {
    const s = await stack(t);
    const canary = await tcpCanary(t);
    const turnUrl = `1700000000:probe:c2VjcmV0@${LAN_HOST}:${canary.port}?transport=tcp`;

    // Positive control: the attack is real when nothing stands in front of the engine.
    const direct = await client(t, s.engine.url);
    const started = performance.now();
    await turnAttack(direct, turnUrl);
    await Promise.race([
      canary.hit,
      sleep(CONTROL_MS).then(() => assert.fail('the engine never opened the TURN TCP connection')),
    ]);
    // Reported, not asserted: how quickly an unfiltered hub reaches a LAN port through the engine.
    t.diagnostic(
      `unfiltered: the engine connected to the canary ${Math.round(performance.now() - started)} ms after the attack began`,
    );
    const before = canary.hits();

    // Through the hub: refused by rule, and the canary hears nothing.
    const viaHub = await client(t, s.kurentoUrl);
    const { setTurn } = await turnAttack(viaHub, turnUrl);
    assert.equal(await refusedRule(setTurn), 'target-not-allowed');
    await sleep(QUIET_MS);
    assert.equal(canary.hits(), before, 'no TCP connection reached the canary through the gateway');
    assert.ok(s.logs.some((r) => r.msg === 'request refused' && r.fields?.rule === 'target-not-allowed'));
    assert.ok(!JSON.stringify(s.logs).includes('c2VjcmV0'), 'the TURN credential is not logged');
  });

  it('STUN to an arbitrary host or port is refused; the canary gets no Binding request', async (t) => {
    const s = await stack(t);
    const canary = await udpCanary(t);
    const hubHost = await udpCanary(t, '127.0.0.1');
    const c = await client(t, s.kurentoUrl);
    const pipeline = await c.create('MediaPipeline');
    const webrtc = await c.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    assert.equal(
      await refusedRule(c.invoke(webrtc, 'setStunServerAddress', { stunServerAddress: LAN_HOST })),
      'target-not-allowed',
    );
    assert.equal(
      await refusedRule(c.invoke(webrtc, 'setStunServerAddress', { stunServerAddress: '192.168.1.1' })),
      'target-not-allowed',
    );
    assert.equal(
      await refusedRule(c.invoke(webrtc, 'setStunServerAddress', { stunServerAddress: 'victim.example.net' })),
      'target-not-allowed',
    );
    // The hub's own host (127.0.0.1 here) is allowed on any port: that is the hub's machine, not the home's.
    await c.invoke(webrtc, 'setStunServerAddress', { stunServerAddress: '127.0.0.1' });
    await c.invoke(webrtc, 'setStunServerPort', { stunServerPort: hubHost.port });
    await c.invoke(webrtc, 'generateOffer');
    await c.invoke(webrtc, 'gatherCandidates');
    for (let i = 0; i < CONTROL_MS / 100 && hubHost.hits() === 0; i++) await sleep(100);
    assert.ok(hubHost.hits() > 0, 'STUN to the hub host still works (the allowed case)');
    assert.equal(canary.hits(), 0, 'nothing reached the refused target');
  });

  it('RtpEndpoint from the hub is refused by default; when enabled, an offer to a LAN address is refused and no RTP flows', async (t) => {
    const off = await stack(t);
    const c1 = await client(t, off.kurentoUrl);
    const p1 = await c1.create('MediaPipeline');
    assert.equal(await refusedRule(c1.create('RtpEndpoint', { mediaPipeline: p1 })), 'type-disabled');

    const on = await stack(t, { gateway: { allowRtpEndpoint: true } });
    const canary = await udpCanary(t);
    const c2 = await client(t, on.kurentoUrl);
    const p2 = await c2.create('MediaPipeline');
    const rtp = await c2.create('RtpEndpoint', { mediaPipeline: p2 });
    const offer = [
      'v=0',
      `o=- 1 1 IN IP4 ${LAN_HOST}`,
      's=-',
      `c=IN IP4 ${LAN_HOST}`,
      't=0 0',
      `m=video ${canary.port} RTP/AVP 96`,
      'a=rtpmap:96 H264/90000',
      'a=sendrecv',
      '',
    ].join('\r\n');
    assert.equal(await refusedRule(c2.invoke(rtp, 'processOffer', { offer })), 'lan-address');
    await sleep(500);
    assert.equal(canary.hits(), 0);
  });

  it('remote ICE candidates on LAN addresses are refused; public ones pass', async (t) => {
    const s = await stack(t);
    const c = await client(t, s.kurentoUrl);
    const pipeline = await c.create('MediaPipeline');
    const webrtc = await c.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    await c.invoke(webrtc, 'generateOffer');
    const add = (addr: string): Promise<unknown> =>
      c.invoke(webrtc, 'addIceCandidate', {
        candidate: {
          __module__: 'kurento',
          __type__: 'IceCandidate',
          candidate: `candidate:1 1 udp 2122260223 ${addr} 9 typ host`,
          sdpMid: '0',
          sdpMLineIndex: 0,
        },
      });
    for (const addr of ['192.168.1.20', '10.0.0.1', '127.0.0.1', '169.254.169.254', 'fd00::1']) {
      assert.equal(await refusedRule(add(addr)), 'lan-address', addr);
    }
    await add('192.0.2.44');
  });

  it('the hub advertises its TURN servers in the welcome; the gateway allows those and nothing else', async (t) => {
    const s = await stack(t, {
      hub: { turn: { urls: ['turn:turn.example.com:3478', 'turn:10.0.0.9:3478?transport=tcp'], secret: TURN_SECRET } },
    });
    const c = await client(t, s.kurentoUrl);
    const pipeline = await c.create('MediaPipeline');
    const webrtc = await c.create('WebRtcEndpoint', { mediaPipeline: pipeline });
    // The hub's own minted value for its advertised server passes the policy and the engine.
    const turnUrl = s.hub.kurentoTurnUrlFor('viewer-1')!;
    assert.match(turnUrl, /@turn\.example\.com:3478$/);
    await c.invoke(webrtc, 'setTurnUrl', { turnUrl });
    // The hub advertised a LAN literal too: a gateway without LAN viewers ignores it.
    assert.equal(
      await refusedRule(c.invoke(webrtc, 'setTurnUrl', { turnUrl: 'a:b@10.0.0.9:3478?transport=tcp' })),
      'target-not-allowed',
    );
    assert.ok(s.logs.some((r) => r.msg === 'ignoring a media relay the hub advertised'));
    assert.ok(!JSON.stringify(s.logs).includes(TURN_SECRET), 'the TURN secret never leaves the hub');
  });
});
