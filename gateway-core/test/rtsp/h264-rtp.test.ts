import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { H264Depacketizer, H264Packetizer, nalType, type H264AccessUnit } from '../../src/rtsp/h264-rtp.js';
import { buildRtpPacket, parseRtpHeader } from '../../src/rtsp/rtp.js';

/** A NAL unit of `type` with NRI=3 and `size` bytes of a recognisable pattern. */
function nal(type: number, size: number, seed = 0): Buffer {
  const b = Buffer.alloc(size);
  b[0] = 0x60 | type;
  for (let i = 1; i < size; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

function rtp(seq: number, ts: number, marker: boolean, payload: Buffer, ssrc = 0x1234): Buffer {
  return buildRtpPacket({ payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc, marker, payload });
}

function feed(d: H264Depacketizer, pkts: Buffer[]): H264AccessUnit[] {
  return pkts.flatMap((p) => d.pushAll(p));
}

describe('parseRtpHeader', () => {
  it('parses the fixed header (RFC 3550 §5.1)', () => {
    const h = parseRtpHeader(rtp(65535, 0xdeadbeef, true, Buffer.from([0x65, 1, 2])));
    assert.ok(h);
    assert.equal(h.sequenceNumber, 65535);
    assert.equal(h.timestamp, 0xdeadbeef);
    assert.equal(h.marker, true);
    assert.equal(h.payloadType, 96);
    assert.equal(h.ssrc, 0x1234);
    assert.deepEqual([...h.payload], [0x65, 1, 2]);
  });

  it('skips CSRCs and the header extension and strips padding (RFC 3550 §5.1, §5.3.1)', () => {
    const pkt = Buffer.from([
      0xb2,
      0x60,
      0,
      1,
      0,
      0,
      0,
      9,
      0,
      0,
      0,
      7, // V=2 P=1 X=1 CC=2
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      2, // CSRCs
      0xbe,
      0xde,
      0,
      1,
      0xaa,
      0xbb,
      0xcc,
      0xdd, // extension, 1 word
      0x41,
      0x42, // payload
      0,
      0,
      3, // padding of 3 octets
    ]);
    const h = parseRtpHeader(pkt);
    assert.ok(h);
    assert.deepEqual(h.csrcs, [1, 2]);
    assert.equal(h.extensionProfile, 0xbede);
    assert.deepEqual([...h.extensionData!], [0xaa, 0xbb, 0xcc, 0xdd]);
    assert.deepEqual([...h.payload], [0x41, 0x42]);
  });

  it('returns undefined on garbage, truncation and bad padding', () => {
    assert.equal(parseRtpHeader(Buffer.alloc(0)), undefined);
    assert.equal(parseRtpHeader(Buffer.alloc(11, 0x80)), undefined);
    assert.equal(parseRtpHeader(Buffer.from('GET / HTTP/1.1\r\n\r\n')), undefined); // version 1
    assert.equal(parseRtpHeader(Buffer.from([0x8f, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])), undefined); // 15 CSRCs missing
    const ext = Buffer.from([0x90, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0xff, 0xff]);
    assert.equal(parseRtpHeader(ext), undefined); // extension longer than packet
    const pad0 = Buffer.from([0xa0, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 0]);
    assert.equal(parseRtpHeader(pad0), undefined); // padding count 0
    const padBig = Buffer.from([0xa0, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x41, 200]);
    assert.equal(parseRtpHeader(padBig), undefined);
    for (let i = 0; i < 2000; i++) {
      const junk = Buffer.from(Array.from({ length: (i % 40) + 1 }, (_, j) => (i * 31 + j * 17) & 0xff));
      parseRtpHeader(junk); // must never throw
    }
  });
});

describe('nalType', () => {
  it('reads the low five bits, -1 for empty', () => {
    assert.equal(nalType(Buffer.from([0x67])), 7);
    assert.equal(nalType(Buffer.from([0x65, 0])), 5);
    assert.equal(nalType(Buffer.alloc(0)), -1);
  });
});

describe('H264Packetizer', () => {
  it('validates options', () => {
    assert.throws(() => new H264Packetizer({ payloadType: 128, ssrc: 1 }), /payloadType must be an integer 0..127/);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: -1 }), RangeError);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 1, mtu: 2 }), /mtu must be/);
    assert.throws(() => new H264Packetizer({ payloadType: 96, ssrc: 1, initialSequence: 70000 }), /initialSequence/);
  });

  it('sends small NAL units as single NAL unit packets with the marker on the last (RFC 6184 §5.6)', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 42, initialSequence: 65534 });
    const au = { nalus: [nal(7, 20), nal(8, 5), nal(5, 900)], timestamp: 3000, keyframe: true };
    const pkts = p.packetize(au);
    assert.equal(pkts.length, 3);
    const hs = pkts.map((x) => parseRtpHeader(x)!);
    assert.deepEqual(
      hs.map((h) => h.sequenceNumber),
      [65534, 65535, 0],
    );
    assert.deepEqual(
      hs.map((h) => h.marker),
      [false, false, true],
    );
    assert.ok(hs.every((h) => h.timestamp === 3000 && h.ssrc === 42 && h.payloadType === 96));
    assert.deepEqual(hs[2]!.payload, au.nalus[2]);
    assert.equal(p.nextSequence, 1);
  });

  it('fragments large NAL units with FU-A within the payload budget (RFC 6184 §5.8)', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 1, mtu: 100, initialSequence: 0 });
    const big = nal(5, 1000);
    const pkts = p.packetize({ nalus: [big], timestamp: 1, keyframe: true });
    assert.equal(pkts.length, Math.ceil(999 / 98));
    for (const [i, pkt] of pkts.entries()) {
      const h = parseRtpHeader(pkt)!;
      assert.ok(h.payload.length <= 100);
      assert.equal(h.payload[0], 0x60 | 28); // NRI kept, type FU-A
      assert.equal(h.payload[1]! & 0x1f, 5);
      assert.equal((h.payload[1]! & 0x80) !== 0, i === 0, 'S bit only on the first');
      assert.equal((h.payload[1]! & 0x40) !== 0, i === pkts.length - 1, 'E bit only on the last');
      assert.equal(h.marker, i === pkts.length - 1);
    }
  });
});

describe('H264Depacketizer', () => {
  it('round-trips access units with large NALs through FU-A', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 7, mtu: 1200, initialSequence: 65000 });
    const d = new H264Depacketizer();
    const aus: H264AccessUnit[] = [];
    for (let i = 0; i < 30; i++) {
      const key = i % 10 === 0;
      const nalus = key
        ? [nal(7, 12, i), nal(8, 4, i), nal(5, 150_000, i)]
        : [nal(1, 3000 + i * 500, i), nal(1, 40, i)];
      aus.push({ nalus, timestamp: (i * 3000) >>> 0, keyframe: key });
    }
    const out = feed(
      d,
      aus.flatMap((au) => p.packetize(au)),
    );
    assert.equal(out.length, aus.length);
    for (let i = 0; i < aus.length; i++) {
      assert.equal(out[i]!.timestamp, aus[i]!.timestamp);
      assert.equal(out[i]!.keyframe, aus[i]!.keyframe);
      assert.equal(out[i]!.nalus.length, aus[i]!.nalus.length);
      for (let j = 0; j < aus[i]!.nalus.length; j++) assert.ok(out[i]!.nalus[j]!.equals(aus[i]!.nalus[j]!));
    }
    assert.equal(d.stats.accessUnits, 30);
    assert.equal(d.stats.lostPackets, 0);
    assert.equal(d.stats.droppedFragmentedNalus, 0);
  });

  it('splits STAP-A aggregates into their NAL units (RFC 6184 §5.7.1)', () => {
    const sps = nal(7, 10);
    const pps = nal(8, 4);
    const stap = Buffer.concat([Buffer.from([0x78, 0, 10]), sps, Buffer.from([0, 4]), pps]);
    const idr = nal(5, 50);
    const d = new H264Depacketizer();
    const out = feed(d, [rtp(1, 90, false, stap), rtp(2, 90, true, idr)]);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.nalus, [sps, pps, idr]);
    assert.equal(out[0]!.keyframe, true);
  });

  it('rejects malformed STAP-A as a whole', () => {
    const d = new H264Depacketizer();
    const truncated = Buffer.concat([Buffer.from([0x78, 0, 10]), nal(7, 10), Buffer.from([0, 50, 1, 2])]);
    const zero = Buffer.from([0x78, 0, 0]);
    const lone = Buffer.from([0x78]);
    const out = feed(d, [rtp(1, 90, true, truncated), rtp(2, 180, true, zero), rtp(3, 270, true, lone)]);
    assert.equal(out.length, 0);
    assert.equal(d.stats.invalidPackets, 3);
  });

  it('drops an FU-A sequence with a sequence gap, counts it, and recovers on the next access unit', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 7, mtu: 500, initialSequence: 10 });
    const d = new H264Depacketizer();
    const au1 = { nalus: [nal(5, 5000)], timestamp: 1000, keyframe: true };
    const au2 = { nalus: [nal(1, 2000)], timestamp: 4000, keyframe: false };
    const pk1 = p.packetize(au1);
    const pk2 = p.packetize(au2);
    const lossy = [...pk1.slice(0, 3), ...pk1.slice(4)]; // fragment 4 lost
    const out = feed(d, [...lossy, ...pk2]);
    assert.equal(out.length, 1, 'only the intact access unit comes out');
    assert.equal(out[0]!.timestamp, 4000);
    assert.ok(out[0]!.nalus[0]!.equals(au2.nalus[0]!));
    assert.equal(d.stats.lostPackets, 1);
    assert.equal(d.stats.droppedFragmentedNalus, 1);
  });

  it('counts an FU-A whose start fragment was lost once, not per fragment', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 7, mtu: 100, initialSequence: 0 });
    const pkts = p.packetize({ nalus: [nal(1, 1000)], timestamp: 5, keyframe: false });
    const d = new H264Depacketizer();
    const out = feed(d, pkts.slice(1));
    assert.equal(out.length, 0);
    assert.equal(d.stats.droppedFragmentedNalus, 1);
  });

  it('completes an access unit on timestamp change when the marker never comes', () => {
    const d = new H264Depacketizer();
    const a = nal(1, 30);
    const b = nal(1, 31);
    assert.equal(d.push(rtp(1, 100, false, a)), undefined);
    const au = d.push(rtp(2, 200, false, b));
    assert.ok(au);
    assert.equal(au.timestamp, 100);
    assert.deepEqual(au.nalus, [a]);
  });

  it('returns both access units when one packet completes two (push queues the second)', () => {
    const d = new H264Depacketizer();
    d.push(rtp(1, 100, false, nal(1, 30)));
    const first = d.push(rtp(2, 200, true, nal(1, 31)));
    assert.equal(first?.timestamp, 100);
    const second = d.push(Buffer.from('junk'));
    assert.equal(second?.timestamp, 200);
  });

  it('drops access units over maxAccessUnitBytes and keeps going', () => {
    const p = new H264Packetizer({ payloadType: 96, ssrc: 7, initialSequence: 0 });
    const d = new H264Depacketizer({ maxAccessUnitBytes: 10_000 });
    const huge = { nalus: [nal(5, 50_000)], timestamp: 1, keyframe: true };
    const small = { nalus: [nal(1, 500)], timestamp: 2, keyframe: false };
    const manySmall = { nalus: Array.from({ length: 30 }, () => nal(1, 400)), timestamp: 3, keyframe: false };
    const out = feed(d, [...p.packetize(huge), ...p.packetize(manySmall), ...p.packetize(small)]);
    assert.deepEqual(
      out.map((a) => a.timestamp),
      [2],
    );
    assert.equal(d.stats.droppedAccessUnits, 2);
  });

  it('drops access units with too many NAL units', () => {
    const d = new H264Depacketizer({ maxNalusPerAccessUnit: 2 });
    const out = feed(d, [rtp(1, 1, false, nal(1, 5)), rtp(2, 1, false, nal(1, 5)), rtp(3, 1, true, nal(1, 5))]);
    assert.equal(out.length, 0);
    assert.equal(d.stats.droppedAccessUnits, 1);
  });

  it('ignores garbage, empty payloads, duplicates and unsupported NAL types without throwing', () => {
    const d = new H264Depacketizer();
    const bad = [
      Buffer.alloc(0),
      Buffer.from('RTSP/1.0 200 OK\r\n'),
      rtp(1, 1, true, Buffer.alloc(0)),
      rtp(2, 1, true, Buffer.from([0x79, 0, 0])), // STAP-B
      rtp(3, 1, true, Buffer.from([0x7a, 0, 0])), // MTAP16
      rtp(4, 1, true, Buffer.from([0x7d, 0x85, 0])), // FU-B
      rtp(5, 1, true, Buffer.from([0x60])), // type 0, reserved
      rtp(6, 1, true, Buffer.from([0x7c, 0xc5, 1])), // FU-A with S and E both set
      rtp(7, 1, true, Buffer.from([0x7c])), // truncated FU-A
    ];
    assert.deepEqual(feed(d, bad), []);
    assert.equal(d.stats.invalidPackets, 9);
    const ok = d.push(rtp(8, 2, true, nal(1, 10)));
    assert.ok(ok);
    assert.equal(d.push(rtp(8, 3, true, nal(1, 10))), undefined, 'duplicate sequence number is dropped');
    for (let i = 0; i < 5000; i++) {
      const len = (i * 13) % 300;
      const junk = Buffer.from(Array.from({ length: len }, (_, j) => (i * 131 + j * 71) & 0xff));
      if (len > 0) junk[0] = 0x80; // looks like RTP v2 so the H.264 layer is exercised
      d.push(junk);
    }
  });

  it('starts afresh when the SSRC changes', () => {
    const d = new H264Depacketizer();
    d.push(rtp(100, 1, false, Buffer.from([0x7c, 0x85, 1, 2])));
    const au = d.push(rtp(5, 9, true, nal(1, 10), 0x9999));
    assert.equal(au?.timestamp, 9);
    assert.equal(d.stats.lostPackets, 0);
  });
});
