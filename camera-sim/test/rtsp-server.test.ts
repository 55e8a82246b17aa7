/**
 * The simulated camera's RTSP server, driven byte by byte by a raw TCP client
 * (RFC 2326), with RTP checked by the RTSP client's own depacketizer and the
 * H.264 decoded by FFmpeg.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { H264Depacketizer, parseRtpHeader, type H264AccessUnit } from '@camgate/core/rtsp-wire';
import { startCameraSim, type CameraSim, type CameraSimOptions } from '../src/index.js';
import { createLogger, memorySink } from '@camgate/core';
import { answerDigest } from './helpers/digest.js';
import { annexB, decodeLuma, RawRtspClient, type RawResponse } from './helpers/rtsp-sim.js';

const USER = 'admin';
const PASS = 'Sup3r-Secret-Pw';
const W = 320;
const H = 240;

async function sim(t: { after: (fn: () => Promise<void>) => void }, opts: CameraSimOptions = {}): Promise<CameraSim> {
  const s = await startCameraSim({ width: W, height: H, fps: 25, gopSeconds: 0.2, ...opts });
  t.after(() => s.close());
  return s;
}

async function client(t: { after: (fn: () => void) => void }, s: CameraSim): Promise<RawRtspClient> {
  const c = await RawRtspClient.connect(s.port);
  t.after(() => c.close());
  return c;
}

/** Sends `method` with Digest credentials answering the server's challenge (one 401 round trip). */
async function authed(
  c: RawRtspClient,
  method: string,
  uri: string,
  headers: Record<string, string> = {},
  password = PASS,
): Promise<RawResponse> {
  const first = await c.request(method, uri, headers);
  if (first.status !== 401) return first;
  const challenge = first.headers.get('www-authenticate') ?? '';
  const authorization = answerDigest({ username: USER, password, method, uri, challenge });
  return c.request(method, uri, { ...headers, Authorization: authorization });
}

/** Runs DESCRIBE, SETUP (TCP) and PLAY; returns the PLAY response and SETUP's Transport. */
async function play(
  c: RawRtspClient,
  s: CameraSim,
  auth = true,
): Promise<{ play: RawResponse; transport: string; session: string }> {
  const send = auth ? (m: string, u: string, h?: Record<string, string>) => authed(c, m, u, h) : c.request.bind(c);
  const d = await send('DESCRIBE', s.url);
  assert.equal(d.status, 200);
  const base = d.headers.get('content-base')!;
  const setup = await send('SETUP', `${base}trackID=0`, { Transport: 'RTP/AVP/TCP;unicast;interleaved=0-1' });
  assert.equal(setup.status, 200);
  const session = setup.headers.get('session')!.split(';')[0]!;
  const p = await send('PLAY', base, { Session: session, Range: 'npt=0.000-' });
  assert.equal(p.status, 200);
  return { play: p, transport: setup.headers.get('transport')!, session };
}

/** Feeds interleaved channel-0 frames to a depacketizer until `n` access units are complete. */
async function accessUnits(c: RawRtspClient, n: number): Promise<{ aus: H264AccessUnit[]; packets: Buffer[] }> {
  const dep = new H264Depacketizer();
  const aus: H264AccessUnit[] = [];
  const packets: Buffer[] = [];
  let used = 0;
  await c.waitFor(() => {
    for (; used < c.frames.length; used++) {
      const f = c.frames[used]!;
      if (f.channel !== 0 || aus.length >= n) continue;
      packets.push(f.data);
      aus.push(...dep.pushAll(f.data));
    }
    return aus.length >= n;
  }, `${n} access units`);
  return { aus: aus.slice(0, n), packets };
}

describe('camera-sim RTSP server', () => {
  describe('Digest authentication (RFC 2617 / RFC 7616)', () => {
    it('answers OPTIONS and DESCRIBE without credentials with 401 and a Digest MD5 qop=auth challenge', async (t) => {
      const s = await sim(t, { username: USER, password: PASS });
      const c = await client(t, s);
      for (const m of ['OPTIONS', 'DESCRIBE']) {
        const r = await c.request(m, s.url);
        assert.equal(r.status, 401);
        assert.match(
          r.headers.get('www-authenticate') ?? '',
          /^Digest realm="[^"]+", nonce="[^"]+", algorithm=MD5, qop="auth"$/,
        );
      }
    });

    it('accepts the right credentials, with qop=auth and in the RFC 2069 form without qop', async (t) => {
      const s = await sim(t, { username: USER, password: PASS });
      const c = await client(t, s);
      const o = await authed(c, 'OPTIONS', s.url);
      assert.equal(o.status, 200);
      assert.match(o.headers.get('public') ?? '', /DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER/);
      const challenge = (await c.request('DESCRIBE', s.url)).headers.get('www-authenticate')!;
      const noQop = challenge.replace(', qop="auth"', '');
      const authorization = answerDigest({
        username: USER,
        password: PASS,
        method: 'DESCRIBE',
        uri: s.url,
        challenge: noQop,
      });
      assert.doesNotMatch(authorization, /qop/);
      assert.equal((await c.request('DESCRIBE', s.url, { Authorization: authorization })).status, 200);
    });

    it('keeps answering 401 to a wrong password, a wrong user, a forged nonce and another method', async (t) => {
      const s = await sim(t, { username: USER, password: PASS });
      const c = await client(t, s);
      assert.equal((await authed(c, 'DESCRIBE', s.url, {}, 'wrong-password')).status, 401);
      const challenge = (await c.request('DESCRIBE', s.url)).headers.get('www-authenticate')!;
      const mk = (o: Partial<{ username: string; method: string; challenge: string }>): string =>
        answerDigest({ username: USER, password: PASS, method: 'DESCRIBE', uri: s.url, challenge, ...o });
      assert.equal((await c.request('DESCRIBE', s.url, { Authorization: mk({ username: 'root' }) })).status, 401);
      const forged = challenge.replace(
        /nonce="[^"]+"/,
        `nonce="${Date.now().toString(16)}.00000000000000000000000000000000"`,
      );
      assert.equal((await c.request('DESCRIBE', s.url, { Authorization: mk({ challenge: forged }) })).status, 401);
      // A response computed for OPTIONS does not authorise DESCRIBE (H(A2) covers the method).
      assert.equal((await c.request('DESCRIBE', s.url, { Authorization: mk({ method: 'OPTIONS' }) })).status, 401);
      assert.equal((await c.request('DESCRIBE', s.url, { Authorization: 'Basic YWRtaW46eA==' })).status, 401);
    });

    it('asks for nothing when no username is configured', async (t) => {
      const s = await sim(t);
      const c = await client(t, s);
      assert.equal((await c.request('OPTIONS', s.url)).status, 200);
      assert.equal(s.urlWithCredentials, s.url);
    });

    it('never logs the password or the Authorization header', async (t) => {
      const sink = memorySink();
      const s = await sim(t, { username: USER, password: PASS, logger: createLogger('sim', sink) });
      const c = await client(t, s);
      await authed(c, 'DESCRIBE', s.url, {}, 'wrong-password');
      await play(c, s);
      await accessUnits(c, 1);
      c.send('garbage\r\n\r\n');
      await c.waitClosed();
      assert.ok(sink.records.length > 0);
      const all = JSON.stringify(sink.records);
      assert.ok(!all.includes(PASS), 'password logged');
      assert.ok(!all.includes('response='), 'Authorization logged');
      assert.ok(s.urlWithCredentials.includes(encodeURIComponent(PASS)));
      assert.ok(!s.url.includes(PASS));
    });
  });

  describe('DESCRIBE', () => {
    it('returns an SDP with a=control, rtpmap H264/90000 and fmtp with profile-level-id and sprop-parameter-sets', async (t) => {
      const s = await sim(t, { username: USER, password: PASS });
      const c = await client(t, s);
      const r = await authed(c, 'DESCRIBE', s.url, { Accept: 'application/sdp' });
      assert.equal(r.status, 200);
      assert.equal(r.headers.get('content-type'), 'application/sdp');
      assert.equal(r.headers.get('content-base'), `${s.url}/`);
      assert.match(r.body, /^v=0\r\n/);
      assert.match(r.body, /\r\na=control:\*\r\n/);
      assert.match(r.body, /\r\nm=video 0 RTP\/AVP 96\r\n/);
      assert.match(r.body, /\r\na=rtpmap:96 H264\/90000\r\n/);
      const fmtp = /\r\na=fmtp:96 (.*)\r\n/.exec(r.body)?.[1] ?? '';
      assert.match(fmtp, /packetization-mode=1/);
      assert.match(fmtp, /profile-level-id=42e01f/);
      assert.match(fmtp, new RegExp(`sprop-parameter-sets=${s.encoder.spropParameterSets.replace(/[+/]/g, '\\$&')}`));
      assert.match(r.body, /\r\na=control:trackID=0\r\n/);
    });

    it('answers 404 for another path and for a non-RTSP URI', async (t) => {
      const s = await sim(t);
      const c = await client(t, s);
      assert.equal((await c.request('DESCRIBE', s.url.replace('/stream1', '/stream2'))).status, 404);
      assert.equal((await c.request('DESCRIBE', 'http://127.0.0.1/stream1')).status, 404);
    });
  });

  describe('SETUP', () => {
    it('refuses multicast with 461 Unsupported Transport (UDP unicast: sim-udp.test.ts)', async (t) => {
      const s = await sim(t);
      const c = await client(t, s);
      const r = await c.request('SETUP', `${s.url}/trackID=0`, {
        Transport: 'RTP/AVP;multicast;destination=239.0.0.1;port=5000-5001',
      });
      assert.equal(r.status, 461);
      assert.equal(r.reason, 'Unsupported Transport');
      assert.equal(s.stats.sessions, 0);
    });

    it('picks the first servable entry of a transport list and answers with interleaved channels, ssrc and a session timeout', async (t) => {
      const s = await sim(t, { sessionTimeoutS: 45 });
      const c = await client(t, s);
      // RFC 2326 §12.39: entries in the client's order of preference; multicast is skipped, TCP served.
      const r = await c.request('SETUP', `${s.url}/trackID=0`, {
        Transport: 'RTP/AVP;multicast;port=5000-5001,RTP/AVP/TCP;unicast;interleaved=2-3',
      });
      assert.equal(r.status, 200);
      assert.match(
        r.headers.get('transport') ?? '',
        /^RTP\/AVP\/TCP;unicast;interleaved=2-3;ssrc=[0-9A-F]{8};mode="PLAY"$/,
      );
      assert.match(r.headers.get('session') ?? '', /^[0-9A-F]{16};timeout=45$/);
      assert.equal(s.stats.sessions, 1);
      assert.equal(s.stats.playing, 0);
    });
  });

  describe('PLAY', () => {
    it('refuses PLAY without SETUP (455) and with an unknown session (454)', async (t) => {
      const s = await sim(t);
      const c = await client(t, s);
      assert.equal((await c.request('PLAY', s.url)).status, 455);
      await c.request('SETUP', `${s.url}/trackID=0`, { Transport: 'RTP/AVP/TCP;interleaved=0-1' });
      assert.equal((await c.request('PLAY', s.url, { Session: 'DEADBEEF' })).status, 454);
    });

    it('streams interleaved RTP: first access unit is SPS+PPS+IDR, markers end each picture, 90 kHz timestamps', async (t) => {
      const s = await sim(t, { username: USER, password: PASS });
      const c = await client(t, s);
      const { play: p, transport } = await play(c, s);
      assert.equal(s.stats.playing, 1);
      const info = /seq=(\d+);rtptime=(\d+)/.exec(p.headers.get('rtp-info') ?? '');
      assert.ok(info, `RTP-Info: ${p.headers.get('rtp-info')}`);
      const ssrc = parseInt(/ssrc=([0-9A-F]{8})/.exec(transport)![1]!, 16);
      const { aus, packets } = await accessUnits(c, 6);
      const first = parseRtpHeader(packets[0]!)!;
      assert.equal(first.sequenceNumber, Number(info[1])); // RFC 2326 §12.33
      assert.equal(first.timestamp, Number(info[2]));
      assert.equal(first.payloadType, 96);
      assert.equal(first.ssrc, ssrc);
      assert.deepEqual(
        aus[0]!.nalus.map((n) => n[0]! & 0x1f),
        [7, 8, 5],
      );
      assert.equal(aus[0]!.keyframe, true);
      assert.deepEqual(aus[0]!.nalus[0], s.encoder.sps);
      // Marker bit exactly on the last packet of each picture (RFC 6184 §5.1), sequence numbers contiguous.
      let seq = first.sequenceNumber;
      for (let i = 0; i < packets.length; i++) {
        const h = parseRtpHeader(packets[i]!)!;
        assert.equal(h.sequenceNumber, seq);
        seq = (seq + 1) & 0xffff;
        const next = packets[i + 1] ? parseRtpHeader(packets[i + 1]!)! : undefined;
        assert.equal(h.marker, next === undefined || next.timestamp !== h.timestamp, `marker on packet ${i}`);
      }
      // 25 fps: timestamps advance by multiples of 3600 (frames the camera was late for are skipped, not bunched).
      for (let i = 1; i < aus.length; i++) {
        const d = (aus[i]!.timestamp - aus[i - 1]!.timestamp) >>> 0;
        assert.ok(d > 0 && d % 3600 === 0, `timestamp step ${d}`);
      }
      // An RTCP sender report + SDES CNAME on channel 1 (RFC 3550 §6.4.1) describes a picture we received.
      await c.waitFor(() => c.frames.some((f) => f.channel === 1), 'RTCP SR');
      const sr = c.frames.find((f) => f.channel === 1)!.data;
      assert.equal(sr[0]! >> 6, 2);
      assert.equal(sr[1], 200);
      assert.equal(sr.readUInt32BE(4), ssrc);
      assert.ok(sr.readUInt32BE(8) > 2_208_988_800 + 1_700_000_000, 'NTP seconds since 1900');
      assert.ok(
        aus.some((a) => a.timestamp === sr.readUInt32BE(16)),
        'SR RTP timestamp is a sent picture',
      );
      assert.ok(sr.readUInt32BE(20) > 0 && sr.readUInt32BE(20) <= packets.length + 1000);
      const sdes = sr.subarray(28);
      assert.equal(sdes[1], 202);
      assert.equal(sdes.length, (sdes.readUInt16BE(2) + 1) * 4);
      assert.equal(sdes[8], 1); // CNAME
      assert.equal(sdes.toString('utf8', 10, 10 + sdes[9]!), 'camera-sim@camgate');
      // And the stream decodes to live pictures.
      const frames = await decodeLuma(annexB(aus.flatMap((a) => a.nalus)), W, H);
      assert.equal(frames.length, 6);
      for (let i = 1; i < frames.length; i++) assert.notDeepEqual(frames[i], frames[i - 1]);
    });

    it('with sendParameterSetsInBand false, SPS/PPS come only from the SDP and the stream still decodes', async (t) => {
      const s = await sim(t, { sendParameterSetsInBand: false });
      assert.equal(s.stats.framesEncoded, 0); // nothing is encoded before someone plays
      const c = await client(t, s);
      await play(c, s, false);
      const { aus } = await accessUnits(c, 3);
      assert.deepEqual(
        aus[0]!.nalus.map((n) => n[0]! & 0x1f),
        [5],
      );
      const describe = c.responses.find((r) => r.body.startsWith('v=0'))!;
      const sprop = /sprop-parameter-sets=([^;\r\n]+)/.exec(describe.body)![1]!;
      const ps = sprop.split(',').map((b) => Buffer.from(b, 'base64'));
      const frames = await decodeLuma(annexB([...ps, ...aus.flatMap((a) => a.nalus)]), W, H);
      assert.equal(frames.length, 3);
    });

    it('serves several sessions at once, each with its own SSRC, each starting at an IDR; counts them', async (t) => {
      const s = await sim(t);
      const a = await client(t, s);
      const b = await client(t, s);
      const pa = await play(a, s, false);
      const pb = await play(b, s, false);
      assert.notEqual(pa.transport, pb.transport);
      assert.equal(s.stats.sessions, 2);
      assert.equal(s.stats.playing, 2);
      const [ua, ub] = await Promise.all([accessUnits(a, 2), accessUnits(b, 2)]);
      assert.equal(ua.aus[0]!.keyframe, true);
      assert.equal(ub.aus[0]!.keyframe, true);
      const t1 = await a.request('TEARDOWN', s.url, { Session: pa.session });
      assert.equal(t1.status, 200);
      assert.equal(s.stats.playing, 1);
      b.close();
      await b.waitClosed();
      const c = await client(t, s);
      assert.equal((await c.request('GET_PARAMETER', s.url)).status, 200); // a round trip: the close was handled
      assert.equal(s.stats.playing, 0);
      assert.equal(s.stats.sessions, 2);
    });

    it('answers GET_PARAMETER keep-alives with the session', async (t) => {
      const s = await sim(t);
      const c = await client(t, s);
      const { session } = await play(c, s, false);
      const r = await c.request('GET_PARAMETER', s.url, { Session: session });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('session') ?? '', new RegExp(`^${session};timeout=60$`));
      assert.equal((await c.request('PAUSE', s.url, { Session: session })).status, 501);
    });
  });
});
