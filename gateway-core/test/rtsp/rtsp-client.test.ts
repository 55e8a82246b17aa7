import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { RtspClient } from '../../src/rtsp/rtsp-client.js';
import type { RtspClientState } from '../../src/rtsp/rtsp-client.js';
import type { RtspClientOptions } from '../../src/rtsp/rtsp-client-options.js';
import { H264Packetizer, nalType, type H264AccessUnit } from '../../src/rtsp/h264-rtp.js';
import { getHeader, type RtspRequest } from '../../src/rtsp/rtsp-message.js';
import { CamgateError } from '../../src/util/errors.js';
import { createLogger, memorySink } from '../../src/util/logger.js';
import { startScriptedRtspServer, verifyDigest, type ScriptedConnection } from '../helpers/rtsp.js';

const USER = 'camadmin';
const PASS = 'Pa55-w0rd-xyz';
const NONCE = '5f2c0e1a9b';
const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);

function sdp(): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=scripted',
    't=0 0',
    'a=control:*',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    `a=fmtp:96 packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=${SPS.toString('base64')},${PPS.toString('base64')}`,
    'a=control:trackID=0',
    'm=audio 0 RTP/AVP 0',
    'a=rtpmap:0 PCMU/8000',
    'a=control:trackID=1',
    '',
  ].join('\r\n');
}

function idr(seed: number): Buffer {
  const b = Buffer.alloc(4000, seed);
  b[0] = 0x65;
  return b;
}

function slice(seed: number): Buffer {
  const b = Buffer.alloc(300, seed);
  b[0] = 0x41;
  return b;
}

interface CameraScript {
  /** Password the camera accepts. */
  password?: string;
  /** Called after PLAY is answered: stream, drop, or nothing. */
  onPlay?: (conn: ScriptedConnection, packetizer: H264Packetizer) => void;
  /** Overrides the answer to one method. */
  override?: (req: RtspRequest, conn: ScriptedConnection) => boolean;
}

/** A camera that requires Digest auth (qop=auth) and serves one H.264 track over TCP interleaved. */
function camera(script: CameraScript) {
  const password = script.password ?? PASS;
  return (req: RtspRequest, conn: ScriptedConnection): void => {
    if (script.override?.(req, conn)) return;
    if (req.method !== 'OPTIONS' && !verifyDigest(req, USER, password, NONCE)) {
      conn.respond(req, 401, 'Unauthorized', [
        ['WWW-Authenticate', `Digest realm="cam", nonce="${NONCE}", qop="auth"`],
        ['WWW-Authenticate', 'Basic realm="cam"'],
      ]);
      return;
    }
    switch (req.method) {
      case 'OPTIONS':
        conn.respond(req, 200, 'OK', [['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER']]);
        return;
      case 'DESCRIBE':
        conn.respond(
          req,
          200,
          'OK',
          [
            ['Content-Type', 'application/sdp'],
            ['Content-Base', `${req.uri}/`],
          ],
          sdp(),
        );
        return;
      case 'SETUP': {
        // The video track on channels 0-1, then the PCMU track on 2-3 (the client's `audio` default).
        const audio = req.uri.endsWith('trackID=1');
        const channels = audio ? '2-3' : '0-1';
        assert.equal(getHeader(req.headers, 'transport'), `RTP/AVP/TCP;unicast;interleaved=${channels}`);
        conn.respond(req, 200, 'OK', [
          ['Session', `SESS${conn.index};timeout=60`],
          ['Transport', `RTP/AVP/TCP;unicast;interleaved=${channels}`],
        ]);
        return;
      }
      case 'PLAY': {
        conn.respond(req, 200, 'OK', [['Session', `SESS${conn.index}`]]);
        const packetizer = new H264Packetizer({ payloadType: 96, ssrc: 0x1000 + conn.index, initialSequence: 0 });
        script.onPlay?.(conn, packetizer);
        return;
      }
      default:
        conn.respond(req, 200, 'OK');
    }
  };
}

function sendAu(conn: ScriptedConnection, p: H264Packetizer, au: H264AccessUnit): void {
  for (const pkt of p.packetize(au)) conn.sendRtp(0, pkt);
  conn.sendRtp(1, Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 1])); // an RTCP-ish frame on channel 1 the client must skip
}

type StateLog = { state: RtspClientState; error?: CamgateError; nextRetryMs?: number }[];

/** The `nth` (0-based) time the client entered `want`, from the recorded log or as it happens. */
async function waitForState(client: RtspClient, want: RtspClientState, nth = 0) {
  const log = (client as unknown as { log: StateLog }).log;
  for (;;) {
    const hits = log.filter((s) => s.state === want);
    if (hits.length > nth) return hits[nth]!;
    await once(client, 'state');
  }
}

function collectAus(client: RtspClient, n: number): Promise<H264AccessUnit[]> {
  const got: H264AccessUnit[] = [];
  return new Promise((resolve) => {
    const on = (au: H264AccessUnit): void => {
      got.push(au);
      if (got.length === n) {
        client.off('accessUnit', on);
        resolve(got);
      }
    };
    client.on('accessUnit', on);
  });
}

async function setup(t: TestContext, script: CameraScript, opts: RtspClientOptions = {}, creds = { u: USER, p: PASS }) {
  const server = await startScriptedRtspServer(camera(script));
  const sink = memorySink();
  const client = new RtspClient(server.url('/stream1', creds.u, creds.p), {
    logger: createLogger('rtsp-test', sink),
    backoff: { initialMs: 5, maxMs: 40, jitter: 0 },
    ...opts,
  });
  const states: StateLog = [];
  (client as unknown as { log: StateLog }).log = states;
  client.on('state', (state, d) => states.push({ state, ...d }));
  t.after(async () => {
    await client.close();
    await server.close();
  });
  return { server, client, sink, states };
}

/** Nothing the client emitted or logged may contain the camera's credentials. */
function assertNoCredentials(sink: ReturnType<typeof memorySink>, states: { error?: CamgateError }[], pass = PASS) {
  const text = JSON.stringify(sink.records) + JSON.stringify(states.map((s) => [s.error?.code, s.error?.message]));
  assert.equal(text.includes(pass), false, 'password leaked');
  assert.equal(text.includes(USER), false, 'user name leaked');
}

describe('RtspClient', () => {
  it('validates its URL and options without echoing credentials', () => {
    assert.throws(() => new RtspClient('http://u:secretpw@h/'), /rtsp: scheme/);
    assert.throws(
      () => new RtspClient('not a url secretpw'),
      (e: unknown) => e instanceof TypeError && !e.message.includes('u:secretpw'),
    );
    assert.throws(
      () => new RtspClient('rtsp://h/', { stallTimeoutMs: -1 }),
      /stallTimeoutMs must be 1..3600000, got -1/,
    );
    assert.throws(() => new RtspClient('rtsp://h/', { backoff: { initialMs: 100, maxMs: 10 } }), /backoff.maxMs/);
  });

  it('plays with Digest auth over TCP interleaved, injects SDP parameter sets before IDRs, and TEARDOWNs', async (t) => {
    const { server, client, sink, states } = await setup(t, {
      onPlay: (conn, p) => {
        sendAu(conn, p, { nalus: [idr(1)], timestamp: 0, keyframe: true });
        sendAu(conn, p, { nalus: [slice(2)], timestamp: 3000, keyframe: false });
        const newSps = Buffer.from([0x67, 0x4d, 0x00, 0x28]);
        sendAu(conn, p, { nalus: [newSps, PPS, idr(3)], timestamp: 6000, keyframe: true });
        sendAu(conn, p, { nalus: [idr(4)], timestamp: 9000, keyframe: true });
      },
    });
    const videos: unknown[] = [];
    client.on('video', (v) => videos.push(v));
    let rtpCount = 0;
    client.on('rtp', () => rtpCount++);
    const aus = collectAus(client, 4);
    client.start();
    await waitForState(client, 'playing');
    const got = await aus;

    assert.equal(client.videoInfo?.payloadType, 96);
    assert.equal(client.videoInfo?.clockRate, 90000);
    assert.equal(client.videoInfo?.profileLevelId, '42c01f');
    assert.ok(client.videoInfo?.sps?.equals(SPS));
    assert.equal(videos.length, 1);
    assert.deepEqual(
      got.map((a) => a.nalus.map(nalType)),
      [[7, 8, 5], [1], [7, 8, 5], [7, 8, 5]],
    );
    assert.ok(got[0]!.nalus[0]!.equals(SPS), 'SPS from sprop-parameter-sets');
    assert.ok(got[0]!.nalus[2]!.equals(idr(1)));
    assert.deepEqual([...got[3]!.nalus[0]!], [0x67, 0x4d, 0x00, 0x28], 'latest in-band SPS wins');
    assert.equal(rtpCount, 4 + 1 + 6 + 4, 'every video RTP packet is emitted, RTCP is not');

    // Aggregate control: PLAY on the Content-Base URL, SETUP on each track (RFC 2326 §C.1.1): video, then audio.
    const methods = server.requests.map((r) => `${r.req.method} ${r.req.uri.replace(/^rtsp:\/\/[^/]+/, '')}`);
    assert.deepEqual(methods.slice(0, 6), [
      'OPTIONS /stream1',
      'DESCRIBE /stream1', // answered 401 with the challenge
      'DESCRIBE /stream1',
      'SETUP /stream1/trackID=0',
      'SETUP /stream1/trackID=1',
      'PLAY /stream1/',
    ]);
    assert.deepEqual(client.audioInfo, {
      codec: 'PCMU',
      encodingName: 'PCMU',
      payloadType: 0,
      clockRate: 8000,
      channels: 1,
    });
    for (const r of server.requests) assert.equal(r.req.uri.includes(PASS) || r.req.uri.includes('@'), false);
    assert.equal(getHeader(server.requests.find((r) => r.req.method === 'PLAY')!.req.headers, 'session'), 'SESS0');

    await client.close();
    const teardown = server.requests.find((r) => r.req.method === 'TEARDOWN');
    assert.ok(teardown, 'TEARDOWN sent on close');
    assert.equal(getHeader(teardown.req.headers, 'session'), 'SESS0');
    assert.equal(client.state, 'closed');
    await client.close(); // idempotent
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'playing', 'closed'],
    );
    assertNoCredentials(sink, states);
  });

  it('fails with CAMGATE_RTSP_AUTH on a wrong password, without a retry storm', async (t) => {
    const { server, client, sink, states } = await setup(t, { password: 'the-right-one' });
    client.start();
    const { error } = await waitForState(client, 'failed');
    assert.ok(error instanceof CamgateError);
    assert.equal(error.code, 'CAMGATE_RTSP_AUTH');
    assert.match(error.message, /refused the credentials/);
    assert.equal(server.connections, 1, 'no reconnect after an auth failure');
    assert.equal(server.requests.filter((r) => r.req.method === 'DESCRIBE').length, 2, 'one retry with the challenge');
    assert.equal(client.state, 'failed');
    assertNoCredentials(sink, states);
  });

  it('fails with CAMGATE_RTSP_AUTH when the camera wants credentials and the URL has none', async (t) => {
    const { client } = await setup(t, {}, {}, { u: undefined as unknown as string, p: '' });
    client.start();
    const { error } = await waitForState(client, 'failed');
    assert.equal(error?.code, 'CAMGATE_RTSP_AUTH');
    assert.match(error!.message, /URL has none/);
  });

  it('fails with CAMGATE_RTSP_NOT_FOUND on 404', async (t) => {
    const { server, client } = await setup(t, {
      override: (req, conn) => {
        if (req.method !== 'DESCRIBE') return false;
        conn.respond(req, 404, 'Stream Not Found');
        return true;
      },
    });
    client.start();
    const { error } = await waitForState(client, 'failed');
    assert.equal(error?.code, 'CAMGATE_RTSP_NOT_FOUND');
    assert.match(error!.message, /DESCRIBE rtsp:\/\/127\.0\.0\.1:\d+\/stream1: 404 Stream Not Found/);
    assert.equal(server.connections, 1);
  });

  it('retries with CAMGATE_RTSP_PROTOCOL when the camera sends garbage', async (t) => {
    const { client, sink, states } = await setup(t, {
      override: (req, conn) => {
        if (req.method !== 'OPTIONS') return false;
        conn.socket.write(Buffer.from([0x00, 0xde, 0xad, 0xbe, 0xef, 0x0a, 0x0d]));
        return true;
      },
    });
    client.start();
    const detail = await waitForState(client, 'retrying');
    assert.equal(detail.error?.code, 'CAMGATE_RTSP_PROTOCOL');
    assert.equal(detail.nextRetryMs, 5);
    const next = await waitForState(client, 'retrying', 1);
    assert.equal(next.nextRetryMs, 10, 'exponential backoff');
    assertNoCredentials(sink, states);
  });

  it('reconnects after the camera drops mid-stream and resumes emitting access units', async (t) => {
    const { server, client, sink, states } = await setup(t, {
      onPlay: (conn, p) => {
        sendAu(conn, p, { nalus: [SPS, PPS, idr(conn.index)], timestamp: 0, keyframe: true });
        sendAu(conn, p, { nalus: [slice(1)], timestamp: 3000, keyframe: false });
        if (conn.index === 0) {
          // Half an access unit, then the cable is pulled.
          const pkts = p.packetize({ nalus: [idr(9)], timestamp: 6000, keyframe: true });
          conn.sendRtp(0, pkts[0]!);
          conn.socket.end(() => conn.socket.destroy());
        }
      },
    });
    const videos: unknown[] = [];
    client.on('video', (v) => videos.push(v));
    const aus = collectAus(client, 4);
    client.start();
    const got = await aus;
    const { error } = await waitForState(client, 'retrying');
    assert.equal(error?.code, 'CAMGATE_RTSP_DISCONNECTED');
    await waitForState(client, 'playing', 1);
    assert.deepEqual(
      states.map((s) => s.state),
      ['connecting', 'playing', 'retrying', 'connecting', 'playing'],
    );
    assert.ok(got[0]!.nalus[2]!.equals(idr(0)), 'first connection');
    assert.ok(got[2]!.keyframe);
    assert.ok(got[2]!.nalus[2]!.equals(idr(1)), 'second connection; the half access unit was dropped');
    assert.equal(got[3]!.nalus[0]![0], 0x41);
    assert.equal(server.connections, 2);
    assert.equal(videos.length, 2, 'video info again after reconnect');
    assertNoCredentials(sink, states);
  });

  it('reconnects when no video arrives within firstVideoTimeoutMs of PLAY', async (t) => {
    const { server, client } = await setup(t, {}, { stallTimeoutMs: 60_000, firstVideoTimeoutMs: 50 });
    client.start();
    await waitForState(client, 'playing');
    const { error } = await waitForState(client, 'retrying');
    assert.equal(error?.code, 'CAMGATE_RTSP_STALLED');
    assert.match(error!.message, /no video for 50 ms/);
    await waitForState(client, 'playing', 1);
    assert.equal(server.connections, 2);
  });

  it('reconnects when video stops for stallTimeoutMs while the TCP connection stays open', async (t) => {
    const { server, client } = await setup(
      t,
      { onPlay: (conn, p) => sendAu(conn, p, { nalus: [SPS, PPS, idr(conn.index)], timestamp: 0, keyframe: true }) },
      { stallTimeoutMs: 50, firstVideoTimeoutMs: 60_000 },
    );
    client.start();
    await waitForState(client, 'playing');
    const { error } = await waitForState(client, 'retrying');
    assert.equal(error?.code, 'CAMGATE_RTSP_STALLED');
    assert.match(error!.message, /no video for 50 ms/);
    assert.equal(server.connections, 1);
  });

  it('answers requests from the camera with 501 and keeps playing', async (t) => {
    const { client } = await setup(t, {
      onPlay: (conn, p) => {
        conn.socket.write('SET_PARAMETER rtsp://127.0.0.1/ RTSP/1.0\r\nCSeq: 77\r\n\r\n');
        sendAu(conn, p, { nalus: [idr(5)], timestamp: 0, keyframe: true });
      },
    });
    const aus = collectAus(client, 1);
    client.start();
    assert.equal((await aus).length, 1);
    assert.equal(client.state, 'playing');
  });

  it('close() during connecting leaves nothing running', async (t) => {
    const { client } = await setup(t, { override: () => true }); // never answers
    client.start();
    await client.close();
    assert.equal(client.state, 'closed');
  });
});
