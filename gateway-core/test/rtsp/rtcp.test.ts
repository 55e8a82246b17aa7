import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseSenderReports } from '../../src/rtsp/rtcp.js';

/** RFC 3550 §6.4.1 SR with no report blocks: 28 bytes. */
function sr(ssrc: number, ntpSeconds: number, ntpFraction: number, rtpTs: number): Buffer {
  const b = Buffer.alloc(28);
  b[0] = 0x80;
  b[1] = 200;
  b.writeUInt16BE(6, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(ntpSeconds, 8);
  b.writeUInt32BE(ntpFraction, 12);
  b.writeUInt32BE(rtpTs, 16);
  return b;
}

/** RFC 3550 §6.5 SDES with one CNAME item, padded to 32 bits. */
function sdes(ssrc: number): Buffer {
  const cname = Buffer.from('cam');
  const chunk = Buffer.concat([Buffer.alloc(4), Buffer.from([1, cname.length]), cname, Buffer.alloc(1)]);
  chunk.writeUInt32BE(ssrc, 0);
  const padded = Buffer.concat([chunk, Buffer.alloc((4 - (chunk.length % 4)) % 4)]);
  const head = Buffer.from([0x81, 202, 0, padded.length / 4]);
  return Buffer.concat([head, padded]);
}

// 2026-01-01T00:00:00Z in NTP seconds (RFC 5905 era 0).
const NTP_2026 = 2_208_988_800 + Date.UTC(2026, 0, 1) / 1000;

describe('parseSenderReports (RFC 3550 §6.4.1)', () => {
  it('reads the SR of a compound SR + SDES packet, NTP time as Unix ms', () => {
    const [r, ...rest] = parseSenderReports(Buffer.concat([sr(0xabc, NTP_2026, 2 ** 31, 123456), sdes(0xabc)]));
    assert.equal(rest.length, 0);
    assert.deepEqual(r, { ssrc: 0xabc, ntpMs: Date.UTC(2026, 0, 1) + 500, rtpTimestamp: 123456 });
  });

  it('reads an SR that follows another packet type, and one with report blocks', () => {
    const withBlock = Buffer.concat([sr(2, NTP_2026, 0, 9), Buffer.alloc(24)]);
    withBlock.writeUInt16BE(12, 2);
    withBlock[0] = 0x81;
    const got = parseSenderReports(Buffer.concat([sdes(1), withBlock]));
    assert.deepEqual(
      got.map((g) => [g.ssrc, g.rtpTimestamp]),
      [[2, 9]],
    );
  });

  it('returns nothing for receiver reports, garbage, truncation and a wrong version, without throwing', () => {
    const rr = Buffer.from([0x80, 201, 0, 1, 0, 0, 0, 1]);
    const truncated = sr(1, NTP_2026, 0, 0).subarray(0, 20);
    const lying = sr(1, NTP_2026, 0, 0);
    lying.writeUInt16BE(200, 2); // claims 804 bytes
    const v1 = sr(1, NTP_2026, 0, 0);
    v1[0] = 0x40;
    const short = Buffer.from([0x80, 200, 0, 0]); // an SR of 4 bytes
    for (const b of [rr, truncated, lying, v1, short, Buffer.alloc(0), Buffer.from([0xff])]) {
      assert.deepEqual(parseSenderReports(b), []);
    }
  });

  it('stops after 16 packets of a compound', () => {
    const many = Buffer.concat(Array.from({ length: 40 }, (_, i) => sr(i, NTP_2026, 0, i)));
    assert.equal(parseSenderReports(many).length, 16);
  });
});
