/**
 * The RtpEndpoint's Opus audio channel: FFmpeg-encoded Opus in, SRTP on the
 * wire that werift decrypts, FFmpeg decodes it back to the tone; the packet
 * time and clock HomeKit asks for; sender reports; the remote's voice in;
 * and the audio SDP (RFC 7587, RFC 4568, RFC 5761).
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { RtpPacket, SrtcpSession, SrtpSession } from 'werift';
import { decodeOpus, encodeOpusTone, toneFrequency, waitUntil } from '@camgate/test-helpers';
import { RtpAudioChannel, type VoicePacket } from '../../src/engine/media/rtp-audio.js';
import {
  buildLocalAudio,
  parseRemoteAudio,
  type RemoteAudioDescription,
} from '../../src/engine/media/rtp-audio-sdp.js';
import { buildSenderReport, isRtcp, joinOpusFrames, readOpusToc } from '../../src/engine/media/rtp-opus.js';
import { buildRtpPacket, parseRtpHeader } from '../../src/rtsp/index.js';

const werift = (key: Buffer) => ({
  profile: 1, // AES128_CM_HMAC_SHA1_80
  keys: {
    localMasterKey: key.subarray(0, 16),
    localMasterSalt: key.subarray(16),
    remoteMasterKey: key.subarray(0, 16),
    remoteMasterSalt: key.subarray(16),
  },
});

/** The HomeKit controller's side: a UDP port that decrypts what arrives with werift. */
async function controller(t: TestContext, key: Buffer) {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  const srtp = new SrtpSession(werift(key));
  const srtcp = new SrtcpSession(werift(key));
  const rtp: RtpPacket[] = [];
  const rtcp: Buffer[] = [];
  socket.on('message', (msg) => {
    if (isRtcp(msg)) rtcp.push(srtcp.decrypt(msg));
    else rtp.push(RtpPacket.deSerialize(srtp.decrypt(msg)));
  });
  return { socket, port: socket.address().port, rtp, rtcp };
}

function remote(port: number, o: Partial<RemoteAudioDescription> = {}): RemoteAudioDescription {
  return {
    address: '127.0.0.1',
    family: 4,
    port,
    proto: 'RTP/SAVP',
    payloadType: 110,
    clockRate: 24_000,
    channels: 1,
    ptimeMs: 20,
    direction: 'recvonly',
    ...o,
  };
}

describe('RtpAudioChannel', () => {
  it('sends FFmpeg Opus as SRTP at HomeKit 24 kHz clock that decodes to the tone, with sender reports', async (t) => {
    const key = randomBytes(30);
    const rx = await controller(t, key);
    const ch = new RtpAudioChannel({
      crypto: { suite: 'AES_128_CM_HMAC_SHA1_80', keyAndSalt: key },
      rtcpIntervalMs: 200,
    });
    t.after(() => ch.close());
    await ch.bind();
    ch.setRemote(remote(rx.port), false);
    const tone = await encodeOpusTone({ hz: 1000, seconds: 2 });
    for (const p of tone) ch.feedOpus(p.payload, p.timestamp + 0xffff_f000); // input clock wraps mid-stream
    await waitUntil(() => rx.rtp.length >= tone.length - 1 && rx.rtcp.length >= 1, 'all packets and a report', 20_000);
    const first = rx.rtp[0]!.header;
    assert.equal(first.payloadType, 110);
    assert.equal(first.ssrc, ch.ssrc);
    assert.equal(first.marker, true);
    for (let i = 1; i < 20; i++) {
      // 20 ms at 24 kHz: 480 ticks a packet (HomeKit's clock, not RFC 7587's 48 kHz)
      assert.equal((rx.rtp[i]!.header.timestamp - rx.rtp[i - 1]!.header.timestamp) >>> 0, 480);
      assert.equal((rx.rtp[i]!.header.sequenceNumber - rx.rtp[i - 1]!.header.sequenceNumber) & 0xffff, 1);
    }
    const pcm = await decodeOpus(
      rx.rtp.map((p) => p.payload),
      24_000,
    );
    assert.ok(Math.abs(toneFrequency(pcm, 24_000) - 1000) <= 10, 'the 1 kHz tone survives');
    const sr = rx.rtcp[0]!;
    assert.equal(sr[1], 200); // SR
    assert.equal(sr.readUInt32BE(4), ch.ssrc);
    assert.equal(sr[29], 202); // then SDES with the CNAME (RFC 3550 §6.1)
    await waitUntil(() => rx.rtcp.length >= 2, 'reports repeat', 10_000);
    assert.equal(ch.stats.sendErrors, 0);
  });

  it('joins 20 ms frames into the 60 ms packets a remote asks for (Opus code 3), losslessly', async (t) => {
    const key = randomBytes(30);
    const rx = await controller(t, key);
    const ch = new RtpAudioChannel({ crypto: { suite: 'AES_128_CM_HMAC_SHA1_80', keyAndSalt: key } });
    t.after(() => ch.close());
    await ch.bind();
    ch.setRemote(remote(rx.port, { clockRate: 16_000, ptimeMs: 60 }), false);
    const tone = await encodeOpusTone({ hz: 600, seconds: 1.5 });
    for (const p of tone) ch.feedOpus(p.payload, p.timestamp);
    await waitUntil(() => rx.rtp.length >= Math.floor(tone.length / 3) - 1, 'joined packets', 20_000);
    for (const p of rx.rtp.slice(0, -1)) assert.equal(readOpusToc(p.payload)!.samples48k, 2880); // 60 ms
    assert.equal((rx.rtp[2]!.header.timestamp - rx.rtp[1]!.header.timestamp) >>> 0, 960); // 60 ms at 16 kHz
    const pcm = await decodeOpus(
      rx.rtp.map((p) => p.payload),
      16_000,
    );
    assert.ok(Math.abs(toneFrequency(pcm, 16_000) - 600) <= 10);
  });

  it('takes the remote voice only when receiving, only from the remote, only if it authenticates', async (t) => {
    const key = randomBytes(30);
    const ch = new RtpAudioChannel({ crypto: { suite: 'AES_128_CM_HMAC_SHA1_80', keyAndSalt: key } });
    t.after(() => ch.close());
    const port = await ch.bind();
    const phone = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => phone.bind(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => phone.close(() => resolve())));
    const voice: VoicePacket[] = [];
    ch.on('voice', (v) => voice.push(v));
    const tx = new SrtpSession(werift(key));
    const txRtcp = new SrtcpSession(werift(key));
    const tone = await encodeOpusTone({ hz: 440, seconds: 1 });
    const send = (msg: Buffer) => phone.send(msg, port, '127.0.0.1');
    const srtpOf = (i: number, pt = 110) => {
      const p = RtpPacket.deSerialize(
        buildRtpPacket({
          payloadType: pt,
          sequenceNumber: i,
          timestamp: i * 480,
          ssrc: 77,
          marker: false,
          payload: tone[i]!.payload,
        }),
      );
      return tx.encrypt(p.payload, p.header);
    };
    ch.setRemote(remote(phone.address().port, { direction: 'sendrecv' }), false);
    send(srtpOf(0));
    await waitUntil(() => ch.stats.dropped >= 1, 'not receiving: dropped', 5000);
    ch.setRemote(remote(phone.address().port, { direction: 'sendrecv' }), true);
    for (let i = 1; i < 20; i++) send(srtpOf(i));
    send(Buffer.from(srtpOf(20)).fill(7, 14)); // tampered
    send(srtpOf(21, 96)); // another payload type
    send(txRtcp.encrypt(Buffer.from('81c90001000000aa', 'hex'))); // an empty receiver report
    await waitUntil(() => voice.length >= 19 && ch.stats.rtcpReceived >= 1, 'voice and a report', 5000);
    await waitUntil(() => ch.stats.dropped >= 3, 'tampered and foreign payload dropped', 5000);
    assert.equal(voice.length, 19);
    assert.deepEqual(voice[0]!.payload, tone[1]!.payload);
    assert.equal(voice[1]!.timestamp48k - voice[0]!.timestamp48k, 960); // back on the 48 kHz clock
    // From another address: dropped unread, even with the right key.
    const before = ch.stats.dropped;
    const other = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => other.bind(0, '127.0.0.2', resolve));
    t.after(() => new Promise<void>((resolve) => other.close(() => resolve())));
    other.send(srtpOf(31), port, '127.0.0.1');
    await waitUntil(() => ch.stats.dropped > before, 'stranger dropped', 5000);
    assert.equal(voice.length, 19);
    assert.equal(ch.stats.voicePackets, 19);
  });

  it('closes idempotently and sends nothing after close', async (t) => {
    const key = randomBytes(30);
    const rx = await controller(t, key);
    const ch = new RtpAudioChannel({ crypto: { suite: 'AES_128_CM_HMAC_SHA1_80', keyAndSalt: key } });
    await ch.bind();
    ch.setRemote(remote(rx.port), false);
    await ch.close();
    await ch.close();
    ch.feedOpus(Buffer.from([0x78, 1, 2, 3]), 0);
    assert.equal(ch.stats.packetsSent, 0);
    assert.throws(() => new RtpAudioChannel({ rtcpIntervalMs: 5 }), RangeError);
  });
});

describe('Opus RTP helpers', () => {
  it('reads TOCs and refuses what is not Opus', () => {
    assert.deepEqual(readOpusToc(Buffer.from([0x78, 0])), {
      config: 15,
      stereo: false,
      code: 0,
      frames: 1,
      samples48k: 960,
    });
    assert.equal(readOpusToc(Buffer.alloc(0)), undefined);
    assert.equal(readOpusToc(Buffer.from([0x7b, 0])), undefined); // code 3 with 0 frames
    assert.equal(readOpusToc(Buffer.from([0x7b, 0x07])), undefined); // 7 × 20 ms > 120 ms
  });

  it('joins frames with one- and two-byte lengths (RFC 6716 §3.2.1) and refuses mixed modes', () => {
    const a = Buffer.concat([Buffer.from([0x78]), Buffer.alloc(300, 1)]);
    const b = Buffer.concat([Buffer.from([0x78]), Buffer.alloc(10, 2)]);
    const j = joinOpusFrames([a, b, b]);
    assert.equal(j[0], 0x7b);
    assert.equal(j[1], 0x83);
    assert.equal(j[2]! + 4 * j[3]!, 300);
    assert.equal(j[4], 10);
    assert.equal(j.length, 5 + 300 + 10 + 10);
    assert.throws(() => joinOpusFrames([a, Buffer.from([0x80, 1])]), { code: 'CAMGATE_ENGINE_OPUS' });
    assert.throws(() => joinOpusFrames([]), { code: 'CAMGATE_ENGINE_OPUS' });
  });

  it('builds a sender report with NTP time and CNAME', () => {
    const sr = buildSenderReport({
      ssrc: 0xdeadbeef,
      wallMs: 1_700_000_000_500,
      rtpTimestamp: 1234,
      packets: 5,
      octets: 600,
      cname: 'camgate',
    });
    assert.equal(sr.readUInt32BE(8), 1_700_000_000 + 2_208_988_800);
    assert.equal(sr.readUInt32BE(12), 2 ** 31); // half a second
    assert.equal(sr.readUInt32BE(16), 1234);
    assert.equal(sr.length % 4, 0);
    assert.equal(sr.toString('utf8', 38, 45), 'camgate');
    assert.ok(parseRtpHeader(sr) === undefined || isRtcp(sr));
  });
});

describe('audio SDP', () => {
  const key = randomBytes(30);
  const answer = (audio: string[]) =>
    [
      'v=0',
      'o=- 1 1 IN IP4 127.0.0.1',
      's=-',
      'c=IN IP4 127.0.0.1',
      't=0 0',
      'm=video 9 RTP/SAVP 99',
      ...audio,
      '',
    ].join('\r\n');

  it('reads what a HomeKit controller answers: Opus 24 kHz, ptime, bitrate, direction, its key', () => {
    const r = parseRemoteAudio(
      answer([
        'm=audio 5002 RTP/SAVP 110',
        'b=AS:24',
        'a=rtpmap:110 opus/24000',
        'a=ptime:20',
        'a=sendrecv',
        `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key.toString('base64')}`,
      ]),
      'answer',
      true,
    );
    assert.deepEqual(r, {
      address: '127.0.0.1',
      family: 4,
      port: 5002,
      proto: 'RTP/SAVP',
      payloadType: 110,
      clockRate: 24_000,
      channels: 1,
      ptimeMs: 20,
      maxBitrateKbps: 24,
      direction: 'sendrecv',
      remoteKeyAndSalt: key,
    });
  });

  it('takes no audio section or a rejected one as no audio, and refuses unusable ones', () => {
    assert.equal(parseRemoteAudio(answer([]), 'answer', true), undefined);
    assert.equal(parseRemoteAudio(answer(['m=audio 0 RTP/SAVP 110', 'a=rtpmap:110 opus/24000']), 'a', true), undefined);
    const bad: [string[], RegExp][] = [
      [['m=audio 5002 RTP/AVP 110', 'a=rtpmap:110 opus/24000'], /protection/],
      [['m=audio 5002 RTP/SAVP 0', 'a=rtpmap:0 PCMU/8000'], /no Opus/],
      [['m=audio 5002 RTP/SAVP 110', 'a=rtpmap:110 opus/44100'], /clock rate/],
      [['m=audio 5002 RTP/SAVP 110', 'a=rtpmap:110 opus/24000', 'a=ptime:1000'], /ptime/],
      [['m=audio 5002 RTP/SAVP 110', 'a=rtpmap:110 opus/24000', 'c=IN IP4 224.0.0.1'], /unicast/],
      [['m=audio 5002 RTP/SAVP 110', 'a=rtpmap:110 opus/24000', 'c=IN IP4 camera.lan'], /c=/],
      [['m=audio 99999 RTP/SAVP 110', 'a=rtpmap:110 opus/24000'], /port/],
      [['m=audio 5002 TCP/TLS 110'], /transport/],
      [['m=audio x'], /malformed/],
    ];
    for (const [lines, re] of bad) {
      assert.throws(() => parseRemoteAudio(answer(lines), 'answer', true), { code: 'CAMGATE_ENGINE_SDP', message: re });
    }
  });

  it('describes its own Opus section with SSRC, rtcp-mux and the key', () => {
    const lines = buildLocalAudio({
      port: 4000,
      proto: 'RTP/SAVP',
      payloadType: 110,
      clockRate: 48_000,
      ptimeMs: 20,
      direction: 'sendrecv',
      ssrc: 42,
      crypto: { suite: 'AES_128_CM_HMAC_SHA1_80', keyAndSalt: key },
    });
    assert.equal(lines[0], 'm=audio 4000 RTP/SAVP 110');
    assert.ok(lines.includes('a=rtpmap:110 opus/48000/2'));
    assert.ok(lines.includes('a=rtcp-mux'));
    assert.ok(lines.includes(`a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:${key.toString('base64')}`));
  });
});
