import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RtcpPacket, RtcpSrPacket } from 'werift';
import { adtsHeader, parseAudioSpecificConfig } from '../../src/engine/media/adts.js';
import { chooseViewerCodec, parseAudioSection } from '../../src/engine/media/audio-codecs.js';
import { AudioWriter } from '../../src/engine/media/audio-writer.js';
import { CameraClock, ntpFromUnixMs, SyncAnchor, ViewerClock } from '../../src/engine/media/lip-sync.js';
import { OggOpusReader, opusPacketSamples } from '../../src/engine/media/ogg-opus.js';
import { defaultLogger } from '../../src/util/index.js';
import { splitAdts } from '../helpers/audio.js';

const log = defaultLogger('test:audio');

/** An Ogg page (RFC 3533 §6) around `segments` lacing values and `body`; CRC left 0 (we do not check it). */
function oggPage(body: Buffer, lacing: number[], flags = 0, seq = 0): Buffer {
  const h = Buffer.alloc(27 + lacing.length);
  h.write('OggS', 0, 'latin1');
  h[5] = flags;
  h.writeUInt32LE(1234, 14);
  h.writeUInt32LE(seq, 18);
  h[26] = lacing.length;
  lacing.forEach((l, i) => (h[27 + i] = l));
  return Buffer.concat([h, body]);
}

function lacingOf(len: number): number[] {
  const out: number[] = [];
  while (len >= 255) {
    out.push(255);
    len -= 255;
  }
  out.push(len);
  return out;
}

function opusHead(preSkip: number): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = 1;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(48000, 12);
  return b;
}

const TAGS = Buffer.from('OpusTags\x00\x00\x00\x00\x00\x00\x00\x00', 'latin1');
/** A CELT 20 ms packet (TOC config 31, one frame) of `n` bytes. */
const celt20 = (n: number, fill = 1): Buffer => Buffer.concat([Buffer.from([0xf8]), Buffer.alloc(n - 1, fill)]);

function headers(preSkip = 312): Buffer {
  const head = opusHead(preSkip);
  return Buffer.concat([oggPage(head, [head.length], 2, 0), oggPage(TAGS, [TAGS.length], 0, 1)]);
}

describe('AAC AudioSpecificConfig and ADTS (ISO/IEC 14496-3 §1.6.2.1, §1.A.2.2)', () => {
  it('reads AAC-LC 16 kHz mono (1408) and 44.1 kHz stereo (1210)', () => {
    assert.deepEqual(parseAudioSpecificConfig(Buffer.from('1408', 'hex')), {
      objectType: 2,
      frequencyIndex: 8,
      sampleRate: 16000,
      channels: 1,
    });
    assert.deepEqual(parseAudioSpecificConfig(Buffer.from('1210', 'hex')), {
      objectType: 2,
      frequencyIndex: 4,
      sampleRate: 44100,
      channels: 2,
    });
  });

  it('reads explicit HE-AAC (SBR, AOT 5) as its AAC-LC core', () => {
    // AOT 5, core index 8 (16 kHz), mono, extension index 5 (32 kHz), core AOT 2.
    const asc = Buffer.from([(5 << 3) | (8 >> 1), ((8 & 1) << 7) | (1 << 3) | (5 >> 1), ((5 & 1) << 7) | (2 << 2)]);
    assert.deepEqual(parseAudioSpecificConfig(asc), {
      objectType: 2,
      frequencyIndex: 8,
      sampleRate: 16000,
      channels: 1,
    });
  });

  it('refuses what ADTS cannot carry, truncated and hostile configs with CAMGATE_ENGINE_AUDIO', () => {
    const bad = [
      Buffer.alloc(0),
      Buffer.from('14', 'hex'), // truncated
      Buffer.from('f8', 'hex'), // AOT escape, truncated
      Buffer.from('1788', 'hex'), // explicit frequency (index 15)
      Buffer.from('1400', 'hex'), // channel config 0
      Buffer.from('3408', 'hex'), // AOT 6 (ER, no ADTS profile)
      Buffer.from('1688', 'hex'), // reserved frequency index 13
      Buffer.alloc(65, 0x14), // oversized
    ];
    for (const b of bad) {
      assert.throws(() => parseAudioSpecificConfig(b), { code: 'CAMGATE_ENGINE_AUDIO' }, b.toString('hex'));
    }
  });

  it('builds a 7-byte header that FFmpeg-made ADTS agrees with, and refuses frames over 13 bits', () => {
    const cfg = parseAudioSpecificConfig(Buffer.from('1408', 'hex'));
    const h = adtsHeader(cfg, 100)!;
    assert.equal(h.length, 7);
    // Split it back: same config, same frame.
    const clip = splitAdts(Buffer.concat([h, Buffer.alloc(100, 7)]));
    assert.equal(clip.config.toString('hex'), '1408');
    assert.equal(clip.frames[0]!.length, 100);
    assert.equal(adtsHeader(cfg, 8184)?.length, 7); // 8191 bytes with the header: the largest
    assert.equal(adtsHeader(cfg, 8185), undefined);
    assert.equal(adtsHeader(cfg, 0), undefined);
  });
});

describe('OggOpusReader (RFC 3533, RFC 7845)', () => {
  it('skips OpusHead/OpusTags, keeps pre-skip, returns packets with their 48 kHz length', () => {
    const r = new OggOpusReader();
    const a = celt20(80);
    const b = celt20(90, 2);
    const out = r.push(Buffer.concat([headers(312), oggPage(Buffer.concat([a, b]), [80, 90], 0, 2)]));
    assert.equal(r.preSkip, 312);
    assert.deepEqual(
      out.map((p) => [p.packet.length, p.samples]),
      [
        [80, 960],
        [90, 960],
      ],
    );
  });

  it('joins a packet continued across pages and byte-by-byte input', () => {
    const r = new OggOpusReader();
    const big = celt20(600);
    const lac = lacingOf(600); // 255, 255, 90
    const p1 = oggPage(big.subarray(0, 510), lac.slice(0, 2), 0, 2);
    const p2 = oggPage(big.subarray(510), lac.slice(2), 1, 3); // continued
    const all = Buffer.concat([headers(), p1, p2]);
    const got = [];
    for (let i = 0; i < all.length; i++) got.push(...r.push(all.subarray(i, i + 1)));
    assert.equal(got.length, 1);
    assert.ok(got[0]!.packet.equals(big));
  });

  it('drops an oversized packet, resyncs after garbage, drops a lost continuation', () => {
    const r = new OggOpusReader(1000);
    const huge = celt20(1500);
    const ok = celt20(50);
    const out = r.push(
      Buffer.concat([
        headers(),
        oggPage(huge, lacingOf(1500), 0, 2),
        Buffer.from('garbage that is not a page'),
        oggPage(ok, [50], 0, 3),
        oggPage(celt20(255), [255], 0, 4), // continues …
        oggPage(ok, [50], 0, 5), // … but the next page is not a continuation
      ]),
    );
    assert.equal(out.length, 2);
    assert.ok(out.every((p) => p.packet.equals(ok)));
    assert.equal(r.stats.dropped, 1);
    assert.ok(r.stats.resyncs >= 1);
  });

  it('gives Opus packet lengths from the TOC (RFC 6716 §3.1) and 0 for malformed ones', () => {
    assert.equal(opusPacketSamples(Buffer.from([0xf8])), 960); // CELT 20 ms, 1 frame
    assert.equal(opusPacketSamples(Buffer.from([0x08 | 1])), 1920); // SILK 20 ms, 2 frames
    assert.equal(opusPacketSamples(Buffer.from([0xf3, 3])), 3 * 480); // CELT 10 ms (config 30), 3 frames (code 3)
    assert.equal(opusPacketSamples(Buffer.from([0xe0])), 120); // CELT 2.5 ms (config 28)
    assert.equal(opusPacketSamples(Buffer.from([0xfb, 0x3f])), 0); // 63 × 20 ms > 120 ms
    assert.equal(opusPacketSamples(Buffer.from([0x03])), 0); // code 3 without a count byte
    assert.equal(opusPacketSamples(Buffer.alloc(0)), 0);
  });
});

describe('audio codec choice', () => {
  const CHROMIUM_AUDIO = [
    'v=0',
    'o=- 1 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
    'a=recvonly',
    'a=rtpmap:111 opus/48000/2',
    'a=rtpmap:63 red/48000/2',
    'a=rtpmap:9 G722/8000',
    'a=rtpmap:0 PCMU/8000',
    'a=rtpmap:8 PCMA/8000',
    'a=rtpmap:13 CN/8000',
    'm=video 9 UDP/TLS/RTP/SAVPF 96',
    'a=rtpmap:96 H264/90000',
    '',
  ].join('\r\n');

  it('reads the payloads of our codecs in the first audio section, and its direction', () => {
    const s = parseAudioSection(CHROMIUM_AUDIO)!;
    assert.equal(s.direction, 'recvonly');
    assert.deepEqual(s.payloads, [
      { codec: 'OPUS', payloadType: 111, clockRate: 48000 },
      { codec: 'PCMU', payloadType: 0, clockRate: 8000 },
      { codec: 'PCMA', payloadType: 8, clockRate: 8000 },
    ]);
    assert.equal(parseAudioSection('v=0\r\nm=video 9 RTP/AVP 96\r\n'), undefined);
    // Static payloads count without rtpmap (RFC 3551 §6); a wrong clock does not.
    const s2 = parseAudioSection('v=0\r\nm=audio 9 RTP/AVP 8 97\r\na=rtpmap:97 opus/16000/2\r\n')!;
    assert.deepEqual(
      s2.payloads.map((p) => p.codec),
      ['PCMA'],
    );
  });

  it('passes G.711 through when the viewer takes it, else Opus, else nothing', () => {
    assert.equal(chooseViewerCodec('PCMA', ['OPUS', 'PCMU', 'PCMA']), 'PCMA');
    assert.equal(chooseViewerCodec('PCMU', ['OPUS', 'PCMU']), 'PCMU');
    assert.equal(chooseViewerCodec('PCMA', ['OPUS', 'PCMU']), 'OPUS');
    assert.equal(chooseViewerCodec('AAC', ['OPUS', 'PCMA']), 'OPUS');
    assert.equal(chooseViewerCodec('OPUS', ['OPUS']), 'OPUS');
    assert.equal(chooseViewerCodec('AAC', ['PCMA']), undefined);
    assert.equal(chooseViewerCodec(undefined, ['OPUS']), undefined);
  });
});

describe('lip sync (RFC 3550 §6.4.1)', () => {
  it('maps camera RTP times through both tracks’ reports, across a 32-bit wrap', () => {
    const c = new CameraClock();
    c.report('video', 1_000_000, 0xffff_0000, 90_000);
    assert.equal(c.ntpOf('video', 0xffff_0000), undefined, 'one track alone cannot be lined up');
    c.report('audio', 1_000_500, 8000, 8000);
    assert.equal(c.ntpOf('video', 0xffff_0000), 1_000_000);
    assert.equal(
      c.ntpOf('video', 0x0000_5f90 /* 0x10000 + 0x5f90 = 90000 after the wrap */),
      1_000_000 + (0x10000 + 0x5f90) / 90,
    );
    assert.equal(c.ntpOf('audio', 16000), 1_001_500);
    c.reset();
    assert.equal(c.ntpOf('audio', 16000), undefined);
  });

  it('puts a viewer’s audio and video reports on one clock', () => {
    const clock = new ViewerClock();
    const v = new SyncAnchor(clock);
    const a = new SyncAnchor(clock);
    assert.equal(v.report(), undefined);
    // The same camera instant, 200 ms later in audio: the reports' NTP must differ by 200 ms at equal RTP.
    v.set(90_000, 90_000, 5_000_000);
    a.set(48_000, 48_000, 5_000_200);
    const rv = v.report()!;
    const ra = a.report()!;
    const ms = (ntp: bigint, rtp: number, base: number, rate: number): number =>
      Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffffffffn) / 2 ** 32) * 1000 - ((rtp - base) * 1000) / rate;
    const dv = ms(rv.ntp, rv.rtpTimestamp, 90_000, 90_000);
    const da = ms(ra.ntp, ra.rtpTimestamp, 48_000, 48_000);
    assert.ok(Math.abs(da - dv - 200) < 2, `audio anchor is 200 ms after video: ${da - dv}`);
    assert.equal(Number(ntpFromUnixMs(0) >> 32n), 2_208_988_800);
  });
});

describe('AudioWriter', () => {
  it('writes RTP with the negotiated payload type, its own sequence and timeline, marker after a break', () => {
    const sent: { h: Buffer; p: Buffer }[] = [];
    const rtcp: RtcpPacket[] = [];
    const sink = {
      ssrc: 0x1234,
      sendRtp: (h: Buffer, p: Buffer) => sent.push({ h: Buffer.from(h), p }),
      sendRtcp: (x: RtcpPacket[]) => rtcp.push(...x),
    };
    const w = new AudioWriter(sink, {
      payloads: [
        { codec: 'OPUS', payloadType: 111, clockRate: 48000 },
        { codec: 'PCMA', payloadType: 8, clockRate: 8000 },
      ],
      clock: new ViewerClock(),
      logger: log,
    });
    assert.deepEqual(w.accepted, ['OPUS', 'PCMA']);
    const f = (ts: number, codec: 'PCMA' | 'PCMU' = 'PCMA') => ({
      codec,
      payload: Buffer.alloc(160, 0xd5),
      timestamp: ts,
      clockRate: 8000,
      samples: 160,
    });
    assert.equal(w.write(f(0xffff_ff60)), true);
    assert.equal(w.write(f(0x0000_0000)), true); // wraps: +160
    assert.equal(w.write(f(0x0000_0000 + 8000 * 10)), true); // 10 s jump: a new session
    assert.equal(w.write(f(0, 'PCMU')), false, 'not negotiated');
    w.close();
    assert.equal(w.write(f(160)), false);
    assert.equal(sent.length, 3);
    const seq = sent.map((s) => s.h.readUInt16BE(2));
    assert.deepEqual(
      [seq[1]! - seq[0]!, seq[2]! - seq[1]!].map((d) => (d + 0x10000) & 0xffff),
      [1, 1],
    );
    const ts = sent.map((s) => s.h.readUInt32BE(4));
    assert.equal((ts[1]! - ts[0]! + 2 ** 32) % 2 ** 32, 160);
    assert.equal((ts[2]! - ts[1]! + 2 ** 32) % 2 ** 32, 160, 'a jump becomes one frame');
    assert.deepEqual(
      sent.map((s) => [s.h[1]! & 0x7f, s.h[1]! >> 7, s.h.readUInt32BE(8)]),
      [
        [8, 1, 0x1234],
        [8, 0, 0x1234],
        [8, 1, 0x1234],
      ],
    );
    assert.equal(rtcp.length, 0);
    void (rtcp as RtcpSrPacket[]);
  });
});
