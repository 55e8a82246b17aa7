/**
 * The audio side of RtspClient against scripted cameras: what it SETUPs and with which headers, what it
 * does when a camera refuses, and the RTP it writes on an ONVIF back channel, byte for byte.
 */
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '@camgate/test-helpers';
import { RtspClient } from '../../src/rtsp/rtsp-client.js';
import type { RtspClientOptions } from '../../src/rtsp/rtsp-client-options.js';
// The audio types as the engine sees them: through the folder's face.
import {
  MAX_BACKCHANNEL_PAYLOAD_BYTES,
  type RtspAudioFrame,
  type RtspAudioInfo,
  type RtspNotice,
  type RtspSenderReport,
} from '../../src/rtsp/index.js';
import { H264Packetizer } from '../../src/rtsp/h264-rtp.js';
import { buildRtpPacket, parseRtpHeader } from '../../src/rtsp/rtp.js';
import { getHeader, type RtspRequest } from '../../src/rtsp/rtsp-message.js';
import { createLogger, memorySink } from '../../src/util/logger.js';
import { startScriptedRtspServer, type ScriptedConnection } from '../helpers/rtsp.js';

const PASS = 'Secret-pw-9876';

interface Camera {
  /** Audio sections after the video one. */
  audio: string[];
  /** Answer to a SETUP of `trackID=N` (N ≥ 1); default 200 with the asked channels. */
  setup?: (req: RtspRequest, conn: ScriptedConnection) => boolean;
  /** Answer to a DESCRIBE; true when handled. */
  describe?: (req: RtspRequest, conn: ScriptedConnection) => boolean;
  /** After PLAY is answered. */
  onPlay?: (conn: ScriptedConnection) => void;
}

function sdp(audio: string[]): string {
  return [
    'v=0',
    'o=- 1 1 IN IP4 127.0.0.1',
    's=scripted',
    't=0 0',
    'a=control:*',
    'm=video 0 RTP/AVP 96',
    'a=rtpmap:96 H264/90000',
    'a=fmtp:96 packetization-mode=1',
    'a=control:trackID=0',
    ...audio,
    '',
  ].join('\r\n');
}

/** Streams an IDR every 100 ms so that the video keeps the session alive. */
function streamVideo(conn: ScriptedConnection): void {
  const p = new H264Packetizer({ payloadType: 96, ssrc: 7, initialSequence: 0 });
  let ts = 0;
  const send = (): void => {
    if (conn.socket.destroyed) return;
    const idr = Buffer.alloc(200, 1);
    idr[0] = 0x65;
    for (const pkt of p.packetize({ nalus: [idr], timestamp: (ts += 9000), keyframe: true })) conn.sendRtp(0, pkt);
    setTimeout(send, 100).unref();
  };
  send();
}

function handler(cam: Camera) {
  return (req: RtspRequest, conn: ScriptedConnection): void => {
    switch (req.method) {
      case 'DESCRIBE':
        if (cam.describe?.(req, conn)) return;
        conn.respond(
          req,
          200,
          'OK',
          [
            ['Content-Type', 'application/sdp'],
            ['Content-Base', `${req.uri}/`],
          ],
          sdp(cam.audio),
        );
        return;
      case 'SETUP': {
        if (!req.uri.endsWith('trackID=0') && cam.setup?.(req, conn)) return;
        const m = /interleaved=(\d+-\d+)/.exec(getHeader(req.headers, 'transport') ?? '');
        conn.respond(req, 200, 'OK', [
          ['Session', `S${conn.index};timeout=60`],
          ['Transport', `RTP/AVP/TCP;unicast;interleaved=${m?.[1] ?? '0-1'}`],
        ]);
        return;
      }
      case 'PLAY':
        conn.respond(req, 200, 'OK', [['Session', `S${conn.index}`]]);
        streamVideo(conn);
        cam.onPlay?.(conn);
        return;
      default:
        conn.respond(req, 200, 'OK', [['Public', 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN']]);
    }
  };
}

async function start(t: TestContext, cam: Camera, opts: RtspClientOptions = {}) {
  const server = await startScriptedRtspServer(handler(cam));
  const sink = memorySink();
  const client = new RtspClient(server.url('/cam', 'admin', PASS), {
    logger: createLogger('rtsp-test', sink),
    backoff: { initialMs: 5, maxMs: 40, jitter: 0 },
    ...opts,
  });
  const notices: RtspNotice[] = [];
  const audio: RtspAudioInfo[] = [];
  const back: RtspAudioInfo[] = [];
  const frames: RtspAudioFrame[] = [];
  const reports: RtspSenderReport[] = [];
  client.on('notice', (n) => notices.push(n));
  client.on('audio', (a) => audio.push(a));
  client.on('backchannel', (b) => back.push(b));
  client.on('audioFrame', (f) => frames.push(f));
  client.on('senderReport', (r) => reports.push(r));
  t.after(async () => {
    await client.close();
    await server.close();
  });
  client.start();
  await until(
    () => client.state,
    (s) => s === 'playing',
    10_000,
    'playing',
  );
  const methods = (): string[] =>
    server.requests.map((r) => `${r.index} ${r.req.method} ${r.req.uri.replace(/^rtsp:\/\/[^/]+\/cam\/?/, '')}`);
  return { server, client, sink, notices, audio, back, frames, reports, methods };
}

const PCMU = ['m=audio 0 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', 'a=control:trackID=1'];

describe('RtspClient audio and back channel (scripted cameras)', () => {
  it('SETUPs the audio on 2-3 in the video session, emits frames and both SRs, and re-emits `audio` on reconnect', async (t) => {
    const conns: ScriptedConnection[] = [];
    const { server, client, audio, frames, reports, methods } = await start(t, {
      audio: PCMU,
      onPlay: (conn) => {
        conns.push(conn);
        if (conn.index > 0) return;
        const payload = Buffer.alloc(160, 0xff);
        conn.sendRtp(
          2,
          buildRtpPacket({ payloadType: 0, sequenceNumber: 1, timestamp: 800, ssrc: 9, marker: true, payload }),
        );
        const srPacket = Buffer.alloc(28);
        srPacket.set([0x80, 200, 0, 6]);
        srPacket.writeUInt32BE(2_208_988_800 + 1_000, 8); // 1970-01-01T00:16:40Z
        srPacket.writeUInt32BE(4321, 16);
        conn.sendRtp(3, srPacket);
        srPacket.writeUInt32BE(1234, 16);
        conn.sendRtp(1, srPacket);
      },
    });
    await until(
      () => reports.length,
      (n) => n === 2,
      10_000,
      'two sender reports',
    );
    assert.deepEqual(reports, [
      { track: 'audio', ntpMs: 1_000_000, rtpTimestamp: 4321 },
      { track: 'video', ntpMs: 1_000_000, rtpTimestamp: 1234 },
    ]);
    assert.deepEqual(frames, [{ payload: Buffer.alloc(160, 0xff), timestamp: 800 }]);
    assert.deepEqual(methods().slice(-3), ['0 SETUP trackID=0', '0 SETUP trackID=1', '0 PLAY ']);
    const audioSetup = server.requests.filter((r) => r.req.method === 'SETUP')[1]!.req;
    assert.equal(getHeader(audioSetup.headers, 'session'), 'S0', 'same session as the video');
    assert.equal(getHeader(audioSetup.headers, 'transport'), 'RTP/AVP/TCP;unicast;interleaved=2-3');
    assert.equal(getHeader(audioSetup.headers, 'require'), undefined);

    // The camera drops the connection: the client reconnects and announces the audio again.
    assert.equal(audio.length, 1);
    conns[0]!.socket.destroy();
    await until(
      () => audio.length,
      (n) => n === 2,
      10_000,
      'audio after the reconnect',
    );
    assert.deepEqual(audio[1], audio[0]);
    await until(
      () => client.state,
      (s) => s === 'playing',
      10_000,
      'playing again',
    );
    assert.equal(client.audioInfo?.codec, 'PCMU');
  });

  it('plays video when the camera refuses the audio SETUP, and says so once across reconnects', async (t) => {
    const conns: ScriptedConnection[] = [];
    const { server, client, audio, notices, sink } = await start(t, {
      audio: PCMU,
      onPlay: (conn) => conns.push(conn),
      setup: (req, conn) => {
        conn.respond(req, 461, 'Unsupported Transport');
        return true;
      },
    });
    assert.equal(client.audioInfo, undefined);
    assert.deepEqual(audio, []);
    const refused = {
      code: 'CAMGATE_RTSP_AUDIO_REFUSED',
      message: 'the camera refused the audio SETUP (461 Unsupported Transport); video plays without it',
    };
    assert.deepEqual(notices, [refused]);
    // Drop the session from the camera's side: the client reconnects, is refused again, and stays quiet.
    conns[0]!.socket.destroy();
    await until(
      () => conns.length,
      (n) => n === 2,
      10_000,
      'PLAY on the second connection',
    );
    await until(
      () => client.state,
      (s) => s === 'playing',
      10_000,
      'playing again',
    );
    const refusals = server.requests.filter((r) => r.req.method === 'SETUP' && r.req.uri.endsWith('trackID=1'));
    assert.deepEqual(
      refusals.map((r) => r.index),
      [0, 1],
      'asked again on the new connection',
    );
    assert.deepEqual(notices, [refused]);
    assert.equal(sink.records.filter((r) => r.fields?.code === 'CAMGATE_RTSP_AUDIO_REFUSED').length, 1);
  });

  it('does not SETUP a codec it cannot depacketize, and keeps a camera-echoed password out of the notice', async (t) => {
    const { client, notices, methods, sink } = await start(t, {
      audio: ['m=audio 0 RTP/AVP 98', `a=rtpmap:98 ${PASS}/44100`, 'a=control:trackID=1'],
    });
    assert.equal(client.audioInfo, undefined);
    assert.deepEqual(
      methods().filter((m) => m.includes('SETUP')),
      ['0 SETUP trackID=0'],
    );
    assert.deepEqual(notices, [
      {
        code: 'CAMGATE_RTSP_AUDIO_UNSUPPORTED',
        message: "the camera's audio is [redacted]/44100 audio is not supported; not set up",
      },
    ]);
    assert.equal(JSON.stringify(sink.records).includes(PASS), false, 'password leaked into the log');
  });

  it('with backchannel: sends Require on DESCRIBE, SETUPs and PLAY, and writes RTP on 4-5 (ONVIF §5.3)', async (t) => {
    const { server, client, back, methods } = await start(
      t,
      {
        audio: [
          ...PCMU,
          'a=recvonly',
          'm=audio 0 RTP/AVP 8',
          'a=rtpmap:8 PCMA/8000',
          'a=control:trackID=2',
          'a=sendonly',
        ],
      },
      { backchannel: true },
    );
    const onvif = 'www.onvif.org/ver20/backchannel';
    assert.deepEqual(methods().slice(1), [
      '0 DESCRIBE ',
      '0 SETUP trackID=0',
      '0 SETUP trackID=1',
      '0 SETUP trackID=2',
      '0 PLAY ',
    ]);
    for (const r of server.requests.slice(1)) assert.equal(getHeader(r.req.headers, 'require'), onvif, r.req.method);
    const play = server.requests.find((r) => r.req.method === 'PLAY')!.req;
    assert.equal(getHeader(play.headers, 'range'), undefined);
    const backSetup = server.requests.filter((r) => r.req.method === 'SETUP')[2]!.req;
    assert.equal(getHeader(backSetup.headers, 'transport'), 'RTP/AVP/TCP;unicast;interleaved=4-5');
    assert.deepEqual(back, [{ codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 }]);
    assert.equal(client.audioInfo?.codec, 'PCMU');

    const a = Buffer.alloc(160, 0xd5);
    assert.equal(client.sendBackchannel(a, 1000), true);
    assert.equal(client.sendBackchannel(a, 1160), true);
    assert.equal(client.sendBackchannel(a, 5000), true); // a new talkspurt
    await until(
      () => server.interleaved.length,
      (n) => n === 3,
      5000,
      'three back-channel packets',
    );
    const pkts = server.interleaved.slice(0, 3).map((f) => ({ channel: f.channel, rtp: parseRtpHeader(f.data)! }));
    assert.deepEqual(
      pkts.map((p) => [p.channel, p.rtp.payloadType, p.rtp.timestamp, p.rtp.marker, p.rtp.payload.length]),
      [
        [4, 8, 1000, true, 160], // RFC 3551 §4.1: the first packet of a talkspurt has the marker
        [4, 8, 1160, false, 160],
        [4, 8, 5000, true, 160],
      ],
    );
    assert.equal(new Set(pkts.map((p) => p.rtp.ssrc)).size, 1);
    assert.equal((pkts[1]!.rtp.sequenceNumber - pkts[0]!.rtp.sequenceNumber) & 0xffff, 1);
    assert.equal((pkts[2]!.rtp.sequenceNumber - pkts[1]!.rtp.sequenceNumber) & 0xffff, 1);
    assert.throws(() => client.sendBackchannel(Buffer.alloc(0), 0), RangeError);
    assert.throws(() => client.sendBackchannel(Buffer.alloc(MAX_BACKCHANNEL_PAYLOAD_BYTES + 1), 0), RangeError);
    assert.equal(client.sendBackchannel(Buffer.alloc(MAX_BACKCHANNEL_PAYLOAD_BYTES, 0xd5), 5160), true);
    assert.throws(() => client.sendBackchannel('x' as unknown as Buffer, 0), TypeError);
    await client.close();
    assert.equal(client.sendBackchannel(a, 0), false, 'not playing');
  });

  it('retries DESCRIBE without Require on 551 and never sets up a back channel then', async (t) => {
    const { client, notices, methods, server } = await start(
      t,
      {
        audio: [...PCMU, 'm=audio 0 RTP/AVP 8', 'a=control:trackID=2', 'a=sendonly'],
        describe: (req, conn) => {
          if (!getHeader(req.headers, 'require')) return false;
          conn.respond(req, 551, 'Option not supported', [['Unsupported', 'www.onvif.org/ver20/backchannel']]);
          return true;
        },
      },
      { backchannel: true },
    );
    assert.deepEqual(methods().slice(1), [
      '0 DESCRIBE ',
      '0 DESCRIBE ',
      '0 SETUP trackID=0',
      '0 SETUP trackID=1',
      '0 PLAY ',
    ]);
    for (const r of server.requests.slice(2)) assert.equal(getHeader(r.req.headers, 'require'), undefined);
    const play = server.requests.find((r) => r.req.method === 'PLAY')!.req;
    assert.equal(getHeader(play.headers, 'range'), 'npt=0.000-', 'PLAY as without a back channel');
    assert.equal(client.backchannelInfo, undefined);
    assert.equal(client.audioInfo?.codec, 'PCMU');
    assert.deepEqual(
      notices.map((n) => n.code),
      ['CAMGATE_RTSP_NO_BACKCHANNEL'],
    );
    assert.equal(client.sendBackchannel(Buffer.alloc(160), 0), false);
  });

  it('takes a sendonly section as the camera audio when the camera ignored Require (no ONVIF directions)', async (t) => {
    const { client, notices, methods } = await start(
      t,
      { audio: ['m=audio 0 RTP/AVP 8', 'a=control:trackID=1', 'a=sendonly'] },
      { backchannel: true },
    );
    assert.equal(client.audioInfo?.codec, 'PCMA');
    assert.equal(client.backchannelInfo, undefined);
    assert.deepEqual(
      methods().filter((m) => m.includes('SETUP')),
      ['0 SETUP trackID=0', '0 SETUP trackID=1'],
    );
    assert.deepEqual(notices, [
      {
        code: 'CAMGATE_RTSP_NO_BACKCHANNEL',
        message: 'the camera has no back channel (its SDP does not mark directions as ONVIF does)',
      },
    ]);
  });

  it('says there is no back channel when the SDP has no sendonly section', async (t) => {
    const { client, notices } = await start(t, { audio: [...PCMU, 'a=recvonly'] }, { backchannel: true });
    assert.equal(client.backchannelInfo, undefined);
    assert.equal(client.audioInfo?.codec, 'PCMU');
    assert.deepEqual(notices, [
      {
        code: 'CAMGATE_RTSP_NO_BACKCHANNEL',
        message: 'the camera has no back channel (no sendonly audio section)',
      },
    ]);
  });

  it('validates the audio and backchannel options', () => {
    assert.throws(() => new RtspClient('rtsp://h/', { audio: 'yes' as unknown as boolean }), {
      name: 'TypeError',
      message: 'RtspClient: audio must be a boolean, got string',
    });
    assert.throws(
      () => new RtspClient('rtsp://h/', { backchannel: 1 as unknown as boolean }),
      /backchannel must be a boolean/,
    );
  });
});
