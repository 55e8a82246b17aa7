import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  buildRtpPacket,
  findH265Track,
  H265Depacketizer,
  h265NalType,
  insertH265ParameterSets,
  parseSdp,
} from '../../src/rtsp/index.js';
import { encodeClip } from '../helpers/ffmpeg-clips.js';

/** A NAL unit with the two-byte H.265 header (§7.3.1.2: F=0, type, LayerId=0, TID=1) and a body. */
function nal(type: number, body: number[] | Buffer): Buffer {
  return Buffer.concat([Buffer.from([type << 1, 1]), Buffer.from(body)]);
}

let seq = 1000;
function rtp(payload: Buffer, timestamp: number, marker: boolean, sequenceNumber = seq++): Buffer {
  return buildRtpPacket({ payloadType: 96, sequenceNumber, timestamp, ssrc: 0x1234, marker, payload });
}

/** RFC 7798 §4.4.2 aggregation packet: payload header type 48, then 16-bit size + unit, no DONL. */
function ap(units: Buffer[]): Buffer {
  const parts: Buffer[] = [Buffer.from([48 << 1, 1])];
  for (const u of units) {
    const size = Buffer.alloc(2);
    size.writeUInt16BE(u.length);
    parts.push(size, u);
  }
  return Buffer.concat(parts);
}

/** RFC 7798 §4.4.3 fragmentation units of `unit`, `chunk` bytes of data each. */
function fus(unit: Buffer, chunk: number): Buffer[] {
  const type = h265NalType(unit);
  const out: Buffer[] = [];
  for (let off = 2; off < unit.length; off += chunk) {
    const end = Math.min(unit.length, off + chunk);
    const header = Buffer.from([
      (unit[0]! & 0x81) | (49 << 1),
      unit[1]!,
      (off === 2 ? 0x80 : 0) | (end === unit.length ? 0x40 : 0) | type,
    ]);
    out.push(Buffer.concat([header, unit.subarray(off, end)]));
  }
  return out;
}

/** A simple RFC 7798 packetizer for the round trip: single NAL packets, FU above `mtu`. */
function packetize(nalus: Buffer[], timestamp: number, mtu = 1000): Buffer[] {
  const payloads: Buffer[] = [];
  for (const n of nalus) {
    if (n.length <= mtu) payloads.push(n);
    else payloads.push(...fus(n, mtu - 3));
  }
  return payloads.map((p, i) => rtp(p, timestamp, i === payloads.length - 1));
}

describe('H265Depacketizer (RFC 7798)', () => {
  it('reassembles single NAL unit packets into an access unit ending on the marker (§4.4.1)', () => {
    const d = new H265Depacketizer();
    const vps = nal(32, [1, 2]);
    const slice = nal(19, [9, 9, 9]); // IDR_W_RADL
    assert.deepEqual(d.pushAll(rtp(vps, 90, false)), []);
    const [au] = d.pushAll(rtp(slice, 90, true));
    assert.deepEqual(au!.nalus, [vps, slice]);
    assert.equal(au!.timestamp, 90);
    assert.equal(au!.keyframe, true, 'IDR is an IRAP picture (H.265 §7.4.2.2)');
    const [p] = d.pushAll(rtp(nal(1, [5]), 3690, true)); // TRAIL_R
    assert.equal(p!.keyframe, false);
  });

  it('splits an aggregation packet into its units (§4.4.2)', () => {
    const d = new H265Depacketizer();
    const units = [nal(32, [1]), nal(33, [2, 2]), nal(34, [3, 3, 3])];
    assert.deepEqual(d.pushAll(rtp(ap(units), 0, false)), []);
    const [au] = d.pushAll(rtp(nal(21, [7]), 0, true)); // CRA
    assert.deepEqual(au!.nalus, [...units, nal(21, [7])]);
    assert.equal(au!.keyframe, true);
  });

  it('rebuilds a fragmented unit with its original two-byte header (§4.4.3)', () => {
    const d = new H265Depacketizer();
    const big = nal(1, Buffer.alloc(5000, 0xab));
    const out = fus(big, 1200).flatMap((p, i, all) => d.pushAll(rtp(p, 7, i === all.length - 1)));
    assert.equal(out.length, 1);
    assert.deepEqual(out[0]!.nalus, [big]);
  });

  it('drops garbage, truncated and forbidden packets and counts them', () => {
    const d = new H265Depacketizer();
    assert.deepEqual(d.pushAll(Buffer.from([1, 2, 3])), [], 'not RTP');
    assert.deepEqual(d.pushAll(rtp(Buffer.from([0x02]), 0, true)), [], 'payload shorter than a header');
    assert.deepEqual(d.pushAll(rtp(Buffer.from([0x80 | 2, 1, 0]), 0, true)), [], 'F bit set');
    assert.deepEqual(d.pushAll(rtp(Buffer.from([50 << 1, 1, 0, 0]), 0, true)), [], 'PACI');
    const truncatedAp = Buffer.concat([Buffer.from([48 << 1, 1, 0, 50]), Buffer.alloc(10)]);
    assert.deepEqual(d.pushAll(rtp(truncatedAp, 0, true)), [], 'AP unit size past the end');
    assert.deepEqual(d.pushAll(rtp(ap([nal(1, [1])]), 0, true)), [], 'AP with a single unit');
    const fuBoth = Buffer.from([49 << 1, 1, 0xc0 | 1, 5]);
    assert.deepEqual(d.pushAll(rtp(fuBoth, 0, true)), [], 'FU with S and E');
    const fuOfAp = Buffer.from([49 << 1, 1, 0x80 | 48, 5]);
    assert.deepEqual(d.pushAll(rtp(fuOfAp, 0, true)), [], 'FU carrying an AP');
    assert.equal(d.stats.invalidPackets, 8);
    assert.equal(d.stats.accessUnits, 0);
  });

  it('drops a fragmented unit whose start or middle was lost', () => {
    const d = new H265Depacketizer();
    const [first, middle, last] = fus(nal(1, Buffer.alloc(3000, 1)), 1000);
    d.pushAll(rtp(first!, 10, false, 1));
    // sequence 2 (middle) lost
    assert.deepEqual(d.pushAll(rtp(last!, 10, true, 3)), []);
    assert.equal(d.stats.lostPackets, 1);
    assert.ok(d.stats.droppedFragmentedNalus >= 1);
    // A continuation without its start: ignored, and the next unit is clean.
    d.pushAll(rtp(middle!, 20, false, 4));
    const [au] = d.pushAll(rtp(nal(1, [1]), 20, true, 5));
    assert.deepEqual(au!.nalus, [nal(1, [1])]);
  });

  it('drops an access unit larger than maxAccessUnitBytes', () => {
    const d = new H265Depacketizer({ maxAccessUnitBytes: 4096 });
    const out = fus(nal(19, Buffer.alloc(10_000, 2)), 1000).flatMap((p, i, all) =>
      d.pushAll(rtp(p, 33, i === all.length - 1)),
    );
    assert.deepEqual(out, []);
    assert.equal(d.stats.droppedAccessUnits, 1);
    const [au] = d.pushAll(rtp(nal(1, [3]), 66, true));
    assert.deepEqual(au!.nalus, [nal(1, [3])], 'the next unit is delivered');
    assert.throws(() => new H265Depacketizer({ maxAccessUnitBytes: 10 }), RangeError);
  });

  it('round-trips a real x265 stream', { timeout: 60_000 }, async () => {
    const clip = await encodeClip({ codec: 'h265', frames: 20, gop: 10, width: 640, height: 360 });
    const d = new H265Depacketizer();
    const out = clip.flatMap((au) => packetize(au.nalus, au.timestamp).flatMap((p) => d.pushAll(p)));
    assert.equal(out.length, clip.length);
    out.forEach((au, i) => {
      assert.deepEqual(au.nalus, clip[i]!.nalus);
      assert.equal(au.timestamp, clip[i]!.timestamp);
      assert.equal(au.keyframe, clip[i]!.keyframe, `keyframe flag of unit ${i}`);
    });
    assert.equal(out.filter((au) => au.keyframe).length, 2);
  });

  it('puts VPS/SPS/PPS from the SDP before the first slice of a keyframe that lacks them', () => {
    const au = { nalus: [nal(35, [0x50]), nal(19, [1])], timestamp: 0, keyframe: true };
    insertH265ParameterSets(au, { vps: nal(32, [1]), sps: nal(33, [2]), pps: nal(34, [3]) });
    assert.deepEqual(au.nalus.map(h265NalType), [35, 32, 33, 34, 19]);
  });
});

describe('findH265Track (RFC 7798 §7.1)', () => {
  it('reads the payload type, control and sprop parameter sets', () => {
    const vps = nal(32, [1, 2, 3]).toString('base64');
    const sps = nal(33, [4, 5]).toString('base64');
    const pps = nal(34, [6]).toString('base64');
    const sdp = parseSdp(
      [
        'v=0',
        'm=video 0 RTP/AVP 97',
        'a=rtpmap:97 H265/90000',
        `a=fmtp:97 sprop-vps=${vps}; sprop-sps=${sps}; sprop-pps=${pps}`,
        'a=control:track1',
      ].join('\r\n'),
    );
    const track = findH265Track(sdp, 'rtsp://cam/stream');
    assert.equal(track?.payloadType, 97);
    assert.equal(track?.controlUrl, 'rtsp://cam/stream/track1');
    assert.equal(track?.maxDonDiff, 0);
    assert.deepEqual(track?.vps, nal(32, [1, 2, 3]));
    assert.deepEqual(track?.sps, nal(33, [4, 5]));
    assert.deepEqual(track?.pps, nal(34, [6]));
  });

  it('reports sprop-max-don-diff, which RtspClient refuses', () => {
    const sdp = parseSdp('v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\na=fmtp:96 sprop-max-don-diff=2\r\n');
    assert.equal(findH265Track(sdp, 'rtsp://cam/')?.maxDonDiff, 2);
  });
});
