/**
 * The simulated camera's RTP over UDP unicast (RFC 2326 §12.39), driven by a
 * raw RTSP client and two UDP sockets of the test on 127.0.0.1: the Transport
 * answer, RTP datagrams with the announced SSRC and sequence, RTCP sender
 * reports on the RTCP port, TEARDOWN stopping the flow, and the refusals
 * (a `destination` that is not the client, multicast, other profiles, bad ports).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { describe, it } from 'node:test';
import { H264Depacketizer, parseRtpHeader, type H264AccessUnit } from '@camgate/core/rtsp-wire';
import { startCameraSim, type CameraSim, type CameraSimOptions } from '../src/index.js';
import { RawRtspClient, type RawResponse } from './helpers/rtsp-sim.js';

type T = { after: (fn: () => unknown) => void };

async function sim(t: T, opts: CameraSimOptions = {}): Promise<CameraSim> {
  const s = await startCameraSim({ width: 320, height: 240, fps: 25, gopSeconds: 0.2, ...opts });
  t.after(() => s.close());
  return s;
}

async function client(t: T, s: CameraSim): Promise<RawRtspClient> {
  const c = await RawRtspClient.connect(s.port);
  t.after(() => c.close());
  return c;
}

// Digest authentication is covered by sim-rtsp-server.test.ts; these sessions are unauthenticated.
const authed = (
  c: RawRtspClient,
  method: string,
  uri: string,
  headers: Record<string, string> = {},
): Promise<RawResponse> => c.request(method, uri, headers);

/** A UDP socket on 127.0.0.1 that records every datagram with its source; resolves waiters event by event. */
class UdpSink {
  readonly got: { data: Buffer; port: number; address: string }[] = [];
  readonly socket = dgram.createSocket('udp4');
  #waiters: (() => void)[] = [];

  static async open(t: T): Promise<UdpSink> {
    const u = new UdpSink();
    u.socket.on('message', (data, r) => {
      u.got.push({ data, port: r.port, address: r.address });
      const w = u.#waiters.splice(0);
      for (const f of w) f();
    });
    await new Promise<void>((resolve) => u.socket.bind(0, '127.0.0.1', resolve));
    t.after(() => u.socket.close());
    return u;
  }

  get port(): number {
    return this.socket.address().port;
  }

  waitFor(cond: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = (): void => (cond() ? resolve() : void this.#waiters.push(check));
      check();
    });
  }
}

/** DESCRIBE + SETUP over UDP to the two sinks; returns the SETUP response and the session id. */
async function setupUdp(
  c: RawRtspClient,
  s: CameraSim,
  rtp: UdpSink,
  rtcp: UdpSink,
): Promise<{ setup: RawResponse; session: string; base: string }> {
  const d = await authed(c, 'DESCRIBE', s.url);
  assert.equal(d.status, 200);
  const base = d.headers.get('content-base')!;
  const setup = await authed(c, 'SETUP', `${base}trackID=0`, {
    Transport: `RTP/AVP;unicast;client_port=${rtp.port}-${rtcp.port}`,
  });
  assert.equal(setup.status, 200);
  return { setup, session: setup.headers.get('session')!.split(';')[0]!, base };
}

describe('camera-sim RTP over UDP (RFC 2326 §12.39)', () => {
  it('answers SETUP with client_port echoed, its server_port pair, source and ssrc', async (t) => {
    const s = await sim(t);
    const [rtp, rtcp] = [await UdpSink.open(t), await UdpSink.open(t)];
    const c = await client(t, s);
    const { setup } = await setupUdp(c, s, rtp, rtcp);
    const ports = s.udpPorts!;
    assert.equal(ports.rtp % 2, 0, 'RTP on an even port (RFC 3550 §11)');
    assert.equal(ports.rtcp, ports.rtp + 1);
    assert.equal(
      setup.headers.get('transport'),
      `RTP/AVP;unicast;client_port=${rtp.port}-${rtcp.port};server_port=${ports.rtp}-${ports.rtcp};` +
        `source=127.0.0.1;ssrc=${/ssrc=([0-9A-F]{8})/.exec(setup.headers.get('transport') ?? '')?.[1]};mode="PLAY"`,
    );
    assert.equal(s.stats.sessions, 1);
  });

  it('also takes the RTP/AVP/UDP spelling (what Janus sends) and picks UDP when it is listed first', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    const r = await c.request('SETUP', `${s.url}/trackID=0`, {
      Transport: 'RTP/AVP/UDP;unicast;client_port=40000-40001,RTP/AVP/TCP;unicast;interleaved=0-1',
    });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('transport') ?? '', /^RTP\/AVP;unicast;client_port=40000-40001;server_port=\d+-\d+;/);
  });

  it('sends RTP datagrams from server_port with the announced SSRC and seq, a decodable IDR first, and RTCP SRs', async (t) => {
    const s = await sim(t);
    const [rtp, rtcp] = [await UdpSink.open(t), await UdpSink.open(t)];
    const c = await client(t, s);
    const { setup, session, base } = await setupUdp(c, s, rtp, rtcp);
    const ssrc = parseInt(/ssrc=([0-9A-F]{8})/.exec(setup.headers.get('transport')!)![1]!, 16);
    const p = await authed(c, 'PLAY', base, { Session: session });
    assert.equal(p.status, 200);
    assert.equal(s.stats.playing, 1);
    const info = p.headers.get('rtp-info') ?? '';
    const seq = Number(/seq=(\d+)/.exec(info)![1]);
    const rtptime = Number(/rtptime=(\d+)/.exec(info)![1]);

    const dep = new H264Depacketizer();
    const aus: H264AccessUnit[] = [];
    let used = 0;
    await rtp.waitFor(() => {
      for (; used < rtp.got.length; used++) aus.push(...dep.pushAll(rtp.got[used]!.data));
      return aus.length >= 3;
    });
    const first = parseRtpHeader(rtp.got[0]!.data)!;
    assert.equal(first.ssrc, ssrc);
    assert.equal(first.sequenceNumber, seq, 'first packet carries RTP-Info seq (RFC 2326 §12.33)');
    assert.equal(first.timestamp, rtptime);
    assert.equal(first.payloadType, 96);
    for (const g of rtp.got) {
      assert.equal(g.address, '127.0.0.1');
      assert.equal(g.port, s.udpPorts!.rtp, 'RTP leaves from server_port');
    }
    assert.equal(aus[0]!.keyframe, true, 'a session starts at an IDR');
    assert.deepEqual(
      aus[0]!.nalus.slice(0, 2).map((n) => n[0]! & 0x1f),
      [7, 8],
      'SPS and PPS precede the IDR',
    );

    await rtcp.waitFor(() => rtcp.got.length > 0);
    const sr = rtcp.got[0]!;
    assert.equal(sr.port, s.udpPorts!.rtcp, 'RTCP leaves from the second server_port');
    assert.equal(sr.data[1], 200, 'RTCP SR packet type (RFC 3550 §6.4.1)');
    assert.equal(sr.data.readUInt32BE(4), ssrc);
  });

  it('stops sending after TEARDOWN while another (TCP) viewer keeps the camera running', async (t) => {
    const s = await sim(t);
    const [rtp, rtcp] = [await UdpSink.open(t), await UdpSink.open(t)];
    const c = await client(t, s);
    const { session, base } = await setupUdp(c, s, rtp, rtcp);
    assert.equal((await c.request('PLAY', base, { Session: session })).status, 200);
    await rtp.waitFor(() => rtp.got.length > 10);

    const other = await client(t, s);
    const su = await other.request('SETUP', `${base}trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
    const os = su.headers.get('session')!.split(';')[0]!;
    assert.equal((await other.request('PLAY', base, { Session: os })).status, 200);

    assert.equal((await c.request('TEARDOWN', base, { Session: session })).status, 200);
    assert.equal(s.stats.playing, 1);
    // Pictures keep flowing to the TCP viewer; after the first batch nothing more may reach the UDP sink.
    const markers = (): number => other.frames.filter((f) => f.channel === 0 && (f.data[1]! & 0x80) !== 0).length;
    await other.waitFor(() => markers() >= 5, '5 pictures over TCP');
    const after = rtp.got.length;
    const m = markers();
    await other.waitFor(() => markers() >= m + 10, '10 more pictures over TCP');
    assert.equal(rtp.got.length, after, 'no RTP after TEARDOWN');
  });

  it('refuses a destination other than the client with 403 and opens no session; accepts the client itself', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    for (const dest of ['10.1.2.3', '127.0.0.2', '::1', 'example.org', '']) {
      const r = await c.request('SETUP', `${s.url}/trackID=0`, {
        Transport: `RTP/AVP;unicast;destination=${dest};client_port=5000-5001`,
      });
      assert.equal(r.status, 403, `destination=${dest}`);
      assert.equal(r.reason, 'Forbidden');
    }
    assert.equal(s.stats.sessions, 0);
    const ok = await c.request('SETUP', `${s.url}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;destination=127.0.0.1;client_port=5000-5001',
    });
    assert.equal(ok.status, 200);
  });

  it('answers 461 to multicast, other profiles and unusable client ports', async (t) => {
    const s = await sim(t);
    const c = await client(t, s);
    for (const tr of [
      'RTP/AVP;multicast;destination=239.1.2.3;port=5000-5001',
      'RTP/SAVP;unicast;client_port=5000-5001',
      'RTP/AVP/SCTP;unicast',
      'RTP/AVP;unicast',
      'RTP/AVP;unicast;client_port=0-1',
      'RTP/AVP;unicast;client_port=70000-70001',
      'RTP/AVP;unicast;client_port=abc',
      'RTP/AVP;unicast;client_port=5000-5001-5002',
      `${'x;'.repeat(2000)}`,
      '',
    ]) {
      const r = await c.request('SETUP', `${s.url}/trackID=0`, { Transport: tr });
      assert.equal(r.status, 461, tr.slice(0, 60));
    }
    assert.equal(s.stats.sessions, 0);
  });

  it('serves only the transports it is told to', async (t) => {
    const tcpOnly = await sim(t, { transports: ['tcp'] });
    assert.equal(tcpOnly.udpPorts, undefined, 'no UDP socket without udp');
    const c1 = await client(t, tcpOnly);
    const u = await c1.request('SETUP', `${tcpOnly.url}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=5000-5001',
    });
    assert.equal(u.status, 461);
    const list = await c1.request('SETUP', `${tcpOnly.url}/trackID=0`, {
      Transport: 'RTP/AVP;unicast;client_port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3',
    });
    assert.equal(list.status, 200);
    assert.match(list.headers.get('transport') ?? '', /^RTP\/AVP\/TCP;unicast;interleaved=2-3;/);

    const udpOnly = await sim(t, { transports: ['udp'] });
    const c2 = await client(t, udpOnly);
    const tcp = await c2.request('SETUP', `${udpOnly.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
    assert.equal(tcp.status, 461);
  });

  it('validates the transports option', async () => {
    await assert.rejects(startCameraSim({ transports: 'udp' as never }), {
      name: 'TypeError',
      message: "transports must be an array of 'tcp' | 'udp', got string",
    });
    await assert.rejects(startCameraSim({ transports: ['sctp' as never] }), {
      name: 'RangeError',
      message: "transports: sctp is not one of 'tcp', 'udp'",
    });
    await assert.rejects(startCameraSim({ transports: [] }), { name: 'RangeError', message: /transports must list/ });
    await assert.rejects(startCameraSim({ transports: ['udp', 'udp'] }), { name: 'RangeError' });
  });

  it('closes its UDP sockets on close() and binds a new pair after stop()/resume()', async (t) => {
    const s = await sim(t);
    const before = s.udpPorts!;
    // The RTP port is taken while running: binding it again fails.
    const probe = dgram.createSocket('udp4');
    await assert.rejects(
      new Promise((resolve, reject) => {
        probe.once('error', reject);
        probe.bind(before.rtp, '127.0.0.1', () => resolve(undefined));
      }),
      { code: 'EADDRINUSE' },
    );
    probe.close();
    await s.stop();
    assert.equal(s.udpPorts, undefined);
    await s.resume();
    // Read through a function: TypeScript keeps the `undefined` narrowed by the assertion above across resume().
    const ports = portsOf(s);
    assert.ok(ports);
    await s.close();
    assert.equal(s.udpPorts, undefined);
    const again = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => again.bind(ports.rtp, '127.0.0.1', resolve));
    again.close();
  });
});

function portsOf(s: { readonly udpPorts?: { rtp: number; rtcp: number } }): { rtp: number; rtcp: number } | undefined {
  return s.udpPorts;
}
