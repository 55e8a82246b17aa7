import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AudioDepacketizer } from '../../src/rtsp/audio-rtp.js';
import { aacRtpPayload, adtsFrame, parseAudioSpecificConfig } from '../../src/rtsp/aac.js';
import { buildRtpPacket } from '../../src/rtsp/rtp.js';
import type { Rfc3640Params } from '../../src/rtsp/sdp-audio.js';

const HBR: Rfc3640Params = {
  mode: 'AAC-hbr',
  sizeLength: 13,
  indexLength: 3,
  indexDeltaLength: 3,
  ctsDeltaLength: 0,
  dtsDeltaLength: 0,
  randomAccessIndication: false,
  streamStateIndication: 0,
  auxiliaryDataSizeLength: 0,
  frameDuration: 1024,
};

function rtp(payload: Buffer, seq: number, ts: number, marker = true, pt = 97): Buffer {
  return buildRtpPacket({ payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc: 0x1234, marker, payload });
}

/** RFC 3640 §3.3.6: AU-headers-length in bits, then a 13-bit size and 3-bit index/delta per AU. */
function hbrPayload(aus: Buffer[], sizes = aus.map((a) => a.length)): Buffer {
  const head = Buffer.alloc(2 + 2 * aus.length);
  head.writeUInt16BE(16 * aus.length, 0);
  sizes.forEach((s, i) => head.writeUInt16BE(s << 3, 2 + 2 * i));
  return Buffer.concat([head, ...aus]);
}

const au = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('AudioDepacketizer', () => {
  describe('AAC (RFC 3640)', () => {
    it('reads one AU per packet', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      const [f, ...rest] = d.push(rtp(aacRtpPayload(au(300, 1)), 1, 5000));
      assert.equal(rest.length, 0);
      assert.deepEqual(f?.payload, au(300, 1));
      assert.equal(f?.timestamp, 5000);
    });

    it('reads several AUs of one packet, each a frame duration later (§3.2.1.1 AU-Index-delta 0)', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      const frames = d.push(rtp(hbrPayload([au(10, 1), au(20, 2), au(30, 3)]), 1, 0xfffffc00));
      assert.deepEqual(
        frames.map((f) => [f.payload.length, f.payload[0], f.timestamp]),
        [
          [10, 1, 0xfffffc00],
          [20, 2, 0], // wraps at 2^32
          [30, 3, 1024],
        ],
      );
      assert.equal(d.stats.frames, 3);
    });

    it('joins a fragmented AU across packets and completes it on the marker bit (§3.2.3)', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      const whole = Buffer.from(Array.from({ length: 3000 }, (_, i) => i & 0xff));
      const frag = (part: Buffer): Buffer => hbrPayload([part], [3000]);
      assert.deepEqual(d.push(rtp(frag(whole.subarray(0, 1200)), 10, 777, false)), []);
      assert.deepEqual(d.push(rtp(frag(whole.subarray(1200, 2400)), 11, 777, false)), []);
      const [f] = d.push(rtp(frag(whole.subarray(2400)), 12, 777, true));
      assert.deepEqual(f?.payload, whole);
      assert.equal(f?.timestamp, 777);
    });

    it('drops a fragmented AU when a packet of it is lost, and keeps going', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      const whole = au(3000, 9);
      const frag = (part: Buffer): Buffer => hbrPayload([part], [3000]);
      d.push(rtp(frag(whole.subarray(0, 1200)), 10, 777, false));
      // 11 lost
      assert.deepEqual(d.push(rtp(frag(whole.subarray(2400)), 12, 777, true)), []);
      assert.equal(d.stats.droppedFragments, 1, 'one AU lost, counted once');
      assert.equal(d.push(rtp(aacRtpPayload(au(5, 5)), 13, 1801)).length, 1, 'the next whole AU plays');
    });

    it('drops a fragment whose end never came when whole AUs follow', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      d.push(rtp(hbrPayload([au(100, 1)], [3000]), 1, 0, false));
      assert.equal(d.push(rtp(aacRtpPayload(au(5, 5)), 2, 1024)).length, 1);
      assert.equal(d.stats.droppedFragments, 1);
    });

    it('drops malformed packets without throwing', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR });
      const bad = [
        Buffer.from([1, 2, 3]), // not RTP
        rtp(Buffer.from([0x00]), 1, 0), // shorter than AU-headers-length
        rtp(Buffer.from([0xff, 0xff, 0, 0]), 2, 0), // header section longer than the packet
        rtp(Buffer.from([0x00, 0x0f, 0, 0]), 3, 0), // 15 bits: not a whole AU-header
        rtp(Buffer.from([0x00, 0x00, 1, 2]), 4, 0), // no AU-header
        rtp(hbrPayload([au(10, 1), au(10, 2)], [10, 50]), 5, 0), // sizes exceed the data
        rtp(Buffer.concat([Buffer.from([0x04, 0x10]), Buffer.alloc(130)]), 6, 0), // 65 AU-headers: over the bound
      ];
      for (const p of bad) assert.deepEqual(d.push(p), []);
      assert.equal(d.stats.invalidPackets, bad.length);
    });

    it('bounds the size of an AU, fragmented or not', () => {
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: HBR, maxFrameBytes: 1000 });
      assert.deepEqual(d.push(rtp(hbrPayload([au(100, 1)], [8000]), 1, 0, false)), []);
      assert.deepEqual(d.push(rtp(aacRtpPayload(au(1001, 1)), 2, 0)), []);
      assert.equal(d.stats.oversizedFrames, 2);
    });

    it('skips CTS/DTS deltas and the auxiliary section (§3.2.1, §3.2.2)', () => {
      // sizelength 13, indexlength 3, ctsdeltalength 4 (flag + 4 bits on the second header), auxiliary 8 bits.
      const p: Rfc3640Params = { ...HBR, ctsDeltaLength: 4, auxiliaryDataSizeLength: 8 };
      // Headers: [size 2, idx 0, cts-flag 0] = 17 bits; [size 3, delta 0, cts-flag 1, cts 0101] = 21 bits.
      let bits = '';
      const fields: [number, number][] = [
        [2, 13],
        [0, 3],
        [0, 1],
        [3, 13],
        [0, 3],
        [1, 1],
        [5, 4],
      ];
      for (const [v, n] of fields) bits += v.toString(2).padStart(n, '0');
      const total = bits.length; // 38
      bits = bits.padEnd(Math.ceil(total / 8) * 8, '0');
      const headers = Buffer.from(bits.match(/.{8}/g)!.map((b) => parseInt(b, 2)));
      const aux = Buffer.from([16, 0xaa, 0xbb]); // auxiliary-data-size 16 bits, then 2 bytes
      const payload = Buffer.concat([Buffer.from([0, total]), headers, aux, Buffer.from([1, 1, 2, 2, 2])]);
      const d = new AudioDepacketizer({ codec: 'AAC', payloadType: 97, aac: p });
      assert.deepEqual(
        d.push(rtp(payload, 1, 0)).map((f) => [...f.payload]),
        [
          [1, 1],
          [2, 2, 2],
        ],
      );
    });
  });

  describe('G.711 and Opus', () => {
    it('passes the payload through with the RTP timestamp', () => {
      const d = new AudioDepacketizer({ codec: 'PCMA', payloadType: 8 });
      const [f] = d.push(rtp(au(160, 0xd5), 1, 160, false, 8));
      assert.deepEqual(f, { payload: au(160, 0xd5), timestamp: 160 });
    });

    it('counts other payload types (comfort noise, RFC 3389) and empty packets, and drops them', () => {
      const d = new AudioDepacketizer({ codec: 'PCMU', payloadType: 0 });
      assert.deepEqual(d.push(rtp(Buffer.from([0x40]), 1, 0, false, 13)), []);
      assert.deepEqual(d.push(rtp(Buffer.alloc(0), 2, 0, false, 0)), []);
      assert.deepEqual(d.stats, {
        frames: 0,
        invalidPackets: 1,
        otherPayloadType: 1,
        droppedFragments: 0,
        oversizedFrames: 0,
      });
    });
  });
});

describe('AAC helpers', () => {
  it('aacRtpPayload writes the AAC-hbr header the depacketizer reads', () => {
    assert.deepEqual([...aacRtpPayload(Buffer.from([7, 7, 7])).subarray(0, 4)], [0x00, 0x10, 0x00, 0x18]);
    assert.throws(() => aacRtpPayload(Buffer.alloc(0)), RangeError);
    assert.throws(() => aacRtpPayload(Buffer.alloc(8192)), {
      name: 'RangeError',
      message: /1\.\.8191 bytes, got 8192/,
    });
    assert.throws(() => aacRtpPayload('x' as unknown as Buffer), TypeError);
  });

  it('parseAudioSpecificConfig reads AAC LC 16 kHz mono and refuses garbage', () => {
    assert.deepEqual(parseAudioSpecificConfig(Buffer.from([0x14, 0x08])), {
      objectType: 2,
      samplingIndex: 8,
      sampleRate: 16000,
      channelConfig: 1,
    });
    assert.equal(parseAudioSpecificConfig(Buffer.from([0x14])), undefined);
    assert.equal(parseAudioSpecificConfig(Buffer.from([0x17, 0x88])), undefined, 'reserved sampling index 14');
  });

  it('adtsFrame writes a 7-byte header with the frame length (ISO/IEC 14496-3 §1.A.2.2)', () => {
    const asc = parseAudioSpecificConfig(Buffer.from([0x12, 0x10]))!; // AAC LC 44.1 kHz stereo
    const f = adtsFrame(asc, Buffer.alloc(100))!;
    assert.deepEqual([...f.subarray(0, 7)], [0xff, 0xf1, 0x50, 0x80, 0x0d, 0x7f, 0xfc]);
    assert.equal(f.length, 107);
    assert.equal(adtsFrame({ ...asc, objectType: 5 }, Buffer.alloc(1)), undefined, 'SBR does not fit ADTS');
  });
});
