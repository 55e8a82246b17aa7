/** SRTP receive and SRTCP (RFC 3711 §3.3, §3.4) against werift's independent implementation and hostile input. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { RtpPacket, SrtcpSession, SrtpSession } from 'werift';
import { SrtpProtector } from '../../src/engine/media/srtp.js';
import { SrtcpContext, SrtpUnprotector } from '../../src/engine/media/srtp-unprotector.js';
import { buildRtpPacket } from '../../src/rtsp/index.js';

const config = (key: Buffer) => ({
  profile: 1, // werift's ProtectionProfileAes128CmHmacSha1_80
  keys: {
    localMasterKey: key.subarray(0, 16),
    localMasterSalt: key.subarray(16),
    remoteMasterKey: key.subarray(0, 16),
    remoteMasterSalt: key.subarray(16),
  },
});

const rtp = (seq: number, ssrc: number, payload: Buffer = Buffer.from('an Opus frame, pretend')) =>
  buildRtpPacket({ payloadType: 110, sequenceNumber: seq, timestamp: seq * 480, ssrc, marker: false, payload });

/** What werift sends for `plain`: an implementation that is not ours. */
function weriftEncrypt(s: SrtpSession, plain: Buffer): Buffer {
  const p = RtpPacket.deSerialize(plain);
  return s.encrypt(p.payload, p.header);
}

/** An RTCP receiver report (RFC 3550 §6.4.2) with one report block, as a HomeKit controller sends. */
function receiverReport(ssrc: number): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 0x81;
  b[1] = 201;
  b.writeUInt16BE(7, 2);
  b.writeUInt32BE(ssrc, 4);
  b.writeUInt32BE(0x11223344, 8);
  b.fill(0x5a, 12);
  return b;
}

describe('SrtpUnprotector', () => {
  it('decrypts what werift encrypts, for SSRCs above 2^31 and across a sequence wrap', () => {
    const key = randomBytes(30);
    const tx = new SrtpSession(config(key));
    const rx = new SrtpUnprotector('AES_128_CM_HMAC_SHA1_80', key);
    for (const seq of [65_530, 65_531, 65_535, 0, 1, 2, 300]) {
      const plain = rtp(seq, 0xfedcba98, randomBytes(seq % 97));
      assert.deepEqual(rx.unprotect(weriftEncrypt(tx, plain)), plain, `seq ${seq}`);
    }
  });

  it('decrypts what SrtpProtector protects with the 32-bit tag suite', () => {
    const key = randomBytes(30);
    const tx = new SrtpProtector('AES_128_CM_HMAC_SHA1_32', key);
    const rx = new SrtpUnprotector('AES_128_CM_HMAC_SHA1_32', key);
    for (let seq = 0; seq < 40; seq++) {
      const plain = rtp(seq, 5, randomBytes(seq * 7));
      assert.deepEqual(rx.unprotect(tx.protect(plain)), plain);
    }
  });

  it('accepts reordering inside the window and refuses replays, stale packets, tampering and garbage', () => {
    const key = randomBytes(30);
    const tx = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const rx = new SrtpUnprotector('AES_128_CM_HMAC_SHA1_80', key);
    const wire = Array.from({ length: 100 }, (_, i) => tx.protect(rtp(i, 9)));
    rx.unprotect(wire[10]!);
    rx.unprotect(wire[12]!);
    rx.unprotect(wire[11]!); // late but new: RFC 3711 §3.3.2 lets it in
    assert.throws(() => rx.unprotect(wire[11]!), { code: 'CAMGATE_ENGINE_SRTP', message: /replayed/ });
    rx.unprotect(wire[99]!);
    assert.throws(() => rx.unprotect(wire[20]!), { code: 'CAMGATE_ENGINE_SRTP', message: /too old/ });
    const tampered = Buffer.from(wire[50]!);
    tampered[20] = tampered[20]! ^ 1;
    assert.throws(() => rx.unprotect(tampered), { code: 'CAMGATE_ENGINE_SRTP', message: /authentication/ });
    rx.unprotect(wire[50]!); // the failed attempt left no trace
    const otherKey = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', randomBytes(30));
    assert.throws(() => rx.unprotect(otherKey.protect(rtp(60, 9))), { message: /authentication/ });
    assert.throws(() => rx.unprotect(Buffer.alloc(5)), { code: 'CAMGATE_ENGINE_SRTP', message: /too short/ });
    assert.throws(() => rx.unprotect(Buffer.alloc(40)), { code: 'CAMGATE_ENGINE_SRTP', message: /RTP v2/ });
    const ext = Buffer.alloc(40);
    ext[0] = 0x90; // extension bit, extension length beyond the packet
    ext.writeUInt16BE(0xffff, 14);
    assert.throws(() => rx.unprotect(ext), { code: 'CAMGATE_ENGINE_SRTP', message: /truncated/ });
    assert.throws(() => rx.unprotect(Buffer.alloc(70_000)), { message: /too large/ });
    for (let i = 0; i < 200; i++) {
      assert.throws(() => rx.unprotect(randomBytes(1 + (i % 120))), { code: 'CAMGATE_ENGINE_SRTP' });
    }
  });

  it('tracks a bounded number of SSRCs', () => {
    const key = randomBytes(30);
    const tx = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const rx = new SrtpUnprotector('AES_128_CM_HMAC_SHA1_80', key, { maxStreams: 4 });
    for (let ssrc = 1; ssrc <= 50; ssrc++) assert.equal(rx.unprotect(tx.protect(rtp(1, ssrc))).readUInt32BE(8), ssrc);
  });

  it('refuses bad arguments naming them', () => {
    assert.throws(() => new SrtpUnprotector('AES_128_CM_HMAC_SHA1_80', Buffer.alloc(29)), RangeError);
    assert.throws(() => new SrtpUnprotector('nope' as 'AES_128_CM_HMAC_SHA1_80', Buffer.alloc(30)), /suite/);
  });
});

describe('SrtcpContext', () => {
  it('protects what werift decrypts and decrypts what werift protects', () => {
    const key = randomBytes(30);
    const ours = new SrtcpContext('AES_128_CM_HMAC_SHA1_80', key);
    const theirs = new SrtcpSession(config(key));
    for (let i = 0; i < 5; i++) {
      const rr = receiverReport(0x80000000 + i);
      const wire = ours.protect(rr);
      assert.equal(wire.length, rr.length + 4 + 10); // E||index, 80-bit tag (RFC 3711 §3.4)
      assert.notDeepEqual(wire.subarray(8, rr.length), rr.subarray(8));
      assert.deepEqual(theirs.decrypt(wire), rr);
      assert.deepEqual(ours.unprotect(theirs.encrypt(rr)), rr);
    }
  });

  it('refuses replays, tampering and garbage', () => {
    const key = randomBytes(30);
    const tx = new SrtcpContext('AES_128_CM_HMAC_SHA1_80', key);
    const rx = new SrtcpContext('AES_128_CM_HMAC_SHA1_80', key);
    const one = tx.protect(receiverReport(7));
    assert.deepEqual(rx.unprotect(one), receiverReport(7));
    assert.throws(() => rx.unprotect(one), { code: 'CAMGATE_ENGINE_SRTP', message: /replayed/ });
    const bad = Buffer.from(tx.protect(receiverReport(7)));
    bad[12] = bad[12]! ^ 0x80;
    assert.throws(() => rx.unprotect(bad), { message: /authentication/ });
    assert.throws(() => rx.unprotect(Buffer.alloc(10)), { code: 'CAMGATE_ENGINE_SRTP' });
    assert.throws(() => tx.protect(Buffer.alloc(4)), { code: 'CAMGATE_ENGINE_SRTP' });
    for (let i = 0; i < 100; i++)
      assert.throws(() => rx.unprotect(randomBytes(22 + i)), { code: 'CAMGATE_ENGINE_SRTP' });
  });
});
