/**
 * TalkBack (engine/media/talkback.ts): the per-camera talk lock, and the real
 * FFmpeg pipeline from a talker's Opus packets to the back channel's G.711 or
 * AAC RTP payloads, with their timing (talkback-packetizer.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { g711Decode } from '@camgate/camera-sim';
import { dominantFrequency, encodeOpusTone, oggPackets } from '@camgate/test-helpers';
import { TalkBack, type BackchannelInfo, type BackchannelTarget } from '../../src/engine/media/talkback.js';
import { AdtsSplitter, G711Packetizer, RtpClock } from '../../src/engine/media/talkback-packetizer.js';
import { OggOpusWriter, oggCrc } from '../../src/engine/media/ogg-opus-writer.js';
import { opusPacketSamples } from '../../src/engine/media/ogg-opus.js';
import { hasCode } from '../../src/util/index.js';

/** 20 ms Opus packets (RFC 7587 payloads) of a `hz` sine, `seconds` long, encoded by FFmpeg's libopus. */
async function opusTonePackets(hz: number, seconds: number): Promise<Buffer[]> {
  return (await encodeOpusTone({ hz, seconds })).map((p) => p.payload);
}

const PCMA: BackchannelInfo = { codec: 'PCMA', encodingName: 'PCMA', payloadType: 8, clockRate: 8000, channels: 1 };

/** A back channel that records what it is sent, like the simulator's. */
function recorder(info: BackchannelInfo | undefined): BackchannelTarget & { sent: { payload: Buffer; ts: number }[] } {
  const sent: { payload: Buffer; ts: number }[] = [];
  return {
    sent,
    backchannelInfo: info,
    sendBackchannel(payload, ts) {
      sent.push({ payload, ts });
      return true;
    },
  };
}

/** Resolves when `cond()` holds; rejects after `ms` (every wait is bounded). */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pushes `packets` to `push` at 20 ms intervals (a browser's packet time). */
async function talk(packets: Buffer[], push: (p: Buffer, ts: number) => void): Promise<void> {
  const start = Date.now();
  for (let i = 0; i < packets.length; i++) {
    push(packets[i]!, i * 960);
    const due = start + (i + 1) * 20 - Date.now();
    if (due > 0) await new Promise((r) => setTimeout(r, due));
  }
}

describe('TalkBack', () => {
  describe('#open (the talk lock)', () => {
    it('lets one talker at a time talk and releases the lock on close', (t) => {
      const tb = new TalkBack({ target: recorder(PCMA) });
      t.after(() => tb.close());
      const talkers: (string | undefined)[] = [];
      tb.on('talker', (id) => talkers.push(id));
      const a = tb.open('viewer-a');
      assert.equal(tb.talker, 'viewer-a');
      assert.throws(
        () => tb.open('viewer-b'),
        (e) => hasCode(e, 'CAMGATE_ENGINE_TALK_BUSY'),
      );
      assert.equal(tb.open('viewer-a'), a, 'the same talker gets its session back');
      a.close();
      a.close();
      assert.equal(tb.talker, undefined);
      const b = tb.open('viewer-b');
      assert.equal(tb.talker, 'viewer-b');
      tb.close();
      assert.equal(b.closed, true);
      assert.throws(
        () => tb.open('viewer-c'),
        (e) => hasCode(e, 'CAMGATE_ENGINE_TALK_FAILED'),
      );
      assert.deepEqual(talkers, ['viewer-a', undefined, 'viewer-b', undefined]);
    });

    it('refuses a camera without back channel, and codecs it does not encode', () => {
      assert.throws(
        () => new TalkBack({ target: recorder(undefined) }).open('v'),
        (e) => hasCode(e, 'CAMGATE_ENGINE_NO_BACKCHANNEL'),
      );
      const opus = { ...PCMA, codec: 'OPUS' as const, encodingName: 'opus', clockRate: 48000 };
      assert.throws(
        () => new TalkBack({ target: recorder(opus) }).open('v'),
        (e) => hasCode(e, 'CAMGATE_ENGINE_TALK_CODEC'),
      );
    });

    it('releases the lock of a talker that sends nothing for idleTimeoutMs', async (t) => {
      const tb = new TalkBack({ target: recorder(PCMA), idleTimeoutMs: 300 });
      t.after(() => tb.close());
      const s = tb.open('gone');
      const reason = await new Promise<string>((resolve) => s.once('close', resolve));
      assert.equal(reason, 'idle');
      assert.equal(tb.talker, undefined);
      tb.open('next').close();
    });

    it('validates its options and arguments', () => {
      assert.throws(() => new TalkBack({} as never), /option target/);
      assert.throws(() => new TalkBack({ target: recorder(PCMA), packetMs: 5 }), RangeError);
      assert.throws(() => new TalkBack({ target: recorder(PCMA), idleTimeoutMs: 1.5 }), TypeError);
      const tb = new TalkBack({ target: recorder(PCMA) });
      assert.throws(() => tb.open(''), TypeError);
      const s = tb.open('v');
      assert.throws(() => s.pushOpus('x' as never, 0), TypeError);
      s.pushOpus(Buffer.alloc(5000, 0xfc), 0); // larger than maxOpusBytes: dropped
      s.pushOpus(Buffer.alloc(0), 0); // no audio: dropped
      assert.equal(s.stats.opusDropped, 2);
      tb.close();
    });
  });

  describe('pipeline (real FFmpeg)', () => {
    for (const codec of ['PCMA', 'PCMU'] as const) {
      it(`sends a talker's 1 kHz tone as ${codec} in 20 ms packets with contiguous timestamps`, async (t) => {
        const target = recorder({ ...PCMA, codec, encodingName: codec, payloadType: codec === 'PCMA' ? 8 : 0 });
        const tb = new TalkBack({ target });
        t.after(() => tb.close());
        const packets = await opusTonePackets(1000, 1.5);
        const session = tb.open('viewer');
        await talk(packets, (p, ts) => session.pushOpus(p, ts));
        await until(() => target.sent.length >= 60, 30_000, '60 packets at the camera');
        session.close();
        for (const { payload } of target.sent) assert.equal(payload.length, 160, '20 ms at 8 kHz');
        for (let i = 1; i < target.sent.length; i++) {
          const step = (target.sent[i]!.ts - target.sent[i - 1]!.ts) >>> 0;
          assert.equal(step, 160, `packet ${i}: no gap while the talker talks`);
        }
        const pcm = g711Decode(codec, Buffer.concat(target.sent.slice(10).map(({ payload }) => payload)));
        const f = dominantFrequency(pcm.subarray(0, 8000), 8000); // the first second
        assert.ok(Math.abs(f - 1000) <= 20, `tone at ${f} Hz`);
      });
    }

    it('sends AAC as RFC 3640 AAC-hbr payloads, 1024 samples apart, that decode to the tone', async (t) => {
      const info: BackchannelInfo = {
        codec: 'AAC',
        encodingName: 'MPEG4-GENERIC',
        payloadType: 96,
        clockRate: 16000,
        channels: 1,
      };
      const target = recorder(info);
      const tb = new TalkBack({ target });
      t.after(() => tb.close());
      const session = tb.open('viewer');
      await talk(await opusTonePackets(1000, 1.5), (p, ts) => session.pushOpus(p, ts));
      await until(() => target.sent.length >= 15, 30_000, '15 AAC packets at the camera');
      session.close();
      const aus: Buffer[] = [];
      for (let i = 0; i < target.sent.length; i++) {
        const { payload, ts } = target.sent[i]!;
        assert.equal(payload.readUInt16BE(0), 16, 'AU-headers-length: one 16-bit AU header');
        const size = payload.readUInt16BE(2) >> 3;
        assert.equal(payload.readUInt16BE(2) & 7, 0, 'AU-Index 0');
        assert.equal(size, payload.length - 4);
        aus.push(payload.subarray(4));
        if (i > 0) assert.equal((ts - target.sent[i - 1]!.ts) >>> 0, 1024);
      }
      // Back to ADTS (AAC-LC, 16 kHz = sampling index 8, mono) and through FFmpeg's decoder.
      const adts = Buffer.concat(
        aus.map((au) => {
          const len = au.length + 7;
          const h = Buffer.from([
            0xff,
            0xf1,
            (1 << 6) | (8 << 2),
            (1 << 6) | (len >> 11),
            (len >> 3) & 0xff,
            ((len & 7) << 5) | 0x1f,
            0xfc,
          ]);
          return Buffer.concat([h, au]);
        }),
      );
      const pcm = await new Promise<Buffer>((resolve, reject) => {
        const child = execFile(
          'ffmpeg',
          [
            '-hide_banner',
            '-loglevel',
            'error',
            '-f',
            'aac',
            '-i',
            'pipe:0',
            '-f',
            's16le',
            '-ac',
            '1',
            '-ar',
            '16000',
            'pipe:1',
          ],
          { encoding: 'buffer', maxBuffer: 8 * 1024 * 1024, timeout: 30_000 },
          (err, stdout) => (err ? reject(err) : resolve(stdout)),
        );
        child.stdin!.end(adts);
      });
      const samples = Array.from({ length: pcm.length / 2 }, (_, i) => pcm.readInt16LE(i * 2)).slice(4000);
      const f = dominantFrequency(samples.slice(0, 16000), 16000, { maxSamples: 16000 }); // the first second
      assert.ok(Math.abs(f - 1000) <= 20, `tone at ${f} Hz`);
    });
  });

  describe('packetizers', () => {
    it('G711Packetizer cuts across pushes and keeps the remainder', () => {
      const p = new G711Packetizer(8000, 20);
      assert.deepEqual(p.push(Buffer.alloc(100)), []);
      const out = p.push(Buffer.alloc(400));
      assert.deepEqual(
        out.map((x) => [x.payload.length, x.samples]),
        [
          [160, 0],
          [160, 160],
          [160, 320],
        ],
      );
      assert.equal(p.push(Buffer.alloc(140))[0]!.samples, 480);
      assert.throws(() => new G711Packetizer(1000), RangeError);
    });

    it('AdtsSplitter strips headers, joins split frames and skips garbage', () => {
      const frame = (n: number, fill: number): Buffer => {
        const len = n + 7;
        return Buffer.concat([
          Buffer.from([0xff, 0xf1, 0x60, 0x40 | (len >> 11), (len >> 3) & 0xff, ((len & 7) << 5) | 0x1f, 0xfc]),
          Buffer.alloc(n, fill),
        ]);
      };
      const s = new AdtsSplitter();
      const stream = Buffer.concat([Buffer.from([1, 2, 3, 0xff]), frame(10, 0xaa), frame(20, 0xbb)]);
      const first = s.push(stream.subarray(0, 20));
      const rest = s.push(stream.subarray(20));
      const all = [...first, ...rest];
      assert.deepEqual(
        all.map((a) => [a.payload.length, a.payload[0], a.samples]),
        [
          [10, 0xaa, 0],
          [20, 0xbb, 1024],
        ],
      );
      // A header claiming a length shorter than itself is not a frame.
      assert.deepEqual(s.push(Buffer.from([0xff, 0xf1, 0x60, 0x40, 0x00, 0x1f, 0xfc, 0, 0])), []);
    });

    it('RtpClock starts at its base, counts samples and keeps a pause', () => {
      const c = new RtpClock(8000, 0xfffffff0);
      assert.equal(c.stamp(0, 160, 1000), 0xfffffff0);
      assert.equal(c.stamp(160, 160, 1020), (0xfffffff0 + 160) >>> 0, 'wraps at 2^32 (RFC 3550 §5.1)');
      // The next 160 samples come 1 s later than due: 1 s of silence is kept in the timestamps.
      const ts = c.stamp(320, 160, 2040);
      assert.equal((ts - 0xfffffff0) >>> 0, 320 + 8000);
    });

    it('OggOpusWriter writes pages FFmpeg reads back, with correct CRCs and granules', () => {
      const w = new OggOpusWriter(7);
      const headers = w.headers();
      const toc20ms = Buffer.from([0xfc, 1, 2, 3]); // config 31 (CELT 20 ms), one frame
      assert.equal(opusPacketSamples(toc20ms), 960);
      assert.equal(opusPacketSamples(Buffer.from([0x03, 0x03])), 3 * 480, 'code 3: frame count byte');
      const page = w.packet(toc20ms)!;
      assert.equal(page.readBigUInt64LE(6), 960n);
      const crc = page.readUInt32LE(22);
      page.writeUInt32LE(0, 22);
      assert.equal(oggCrc(page), crc);
      assert.deepEqual(oggPackets(Buffer.concat([headers, page]))[0], toc20ms, 'after OpusHead and OpusTags');
      assert.equal(w.packet(Buffer.alloc(0)), undefined);
    });
  });
});
