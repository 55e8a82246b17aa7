/** SRTP sender (RFC 3711) against the RFC's test vectors and werift's independent implementation. */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SrtpSession } from 'werift';
import { SrtpProtector, deriveSessionKey } from '../../src/engine/media/index.js';
import { buildRtpPacket } from '../../src/rtsp/index.js';

function session(key: Buffer): SrtpSession {
  const k = { masterKey: key.subarray(0, 16), salt: key.subarray(16) };
  return new SrtpSession({
    profile: 1, // AES128_CM_HMAC_SHA1_80
    keys: {
      localMasterKey: k.masterKey,
      localMasterSalt: k.salt,
      remoteMasterKey: k.masterKey,
      remoteMasterSalt: k.salt,
    },
  });
}

const rtp = (seq: number, ssrc: number, payload = Buffer.from('an H.264 slice, pretend')) =>
  buildRtpPacket({ payloadType: 99, sequenceNumber: seq, timestamp: 1234, ssrc, marker: true, payload });

describe('SrtpProtector', () => {
  it('derives the session keys of RFC 3711 Appendix B.3', () => {
    const masterKey = Buffer.from('E1F97A0D3E018BE0D64FA32C06DE4139', 'hex');
    const masterSalt = Buffer.from('0EC675AD498AFEEBB6960B3AABE6', 'hex');
    assert.equal(deriveSessionKey(masterKey, masterSalt, 0, 16).toString('hex'), 'c61e7a93744f39ee10734afe3ff7a087');
    assert.equal(deriveSessionKey(masterKey, masterSalt, 2, 14).toString('hex'), '30cbbc08863d8c85d49db34a9ae1');
    assert.equal(
      deriveSessionKey(masterKey, masterSalt, 1, 20).toString('hex'),
      'cebe321f6ff7716b6fd4ab49af256a156d38baa4',
    );
  });

  it('produces packets werift authenticates and decrypts, for SSRCs above 2^31 and across a sequence wrap', () => {
    const key = randomBytes(30);
    const p = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const rx = session(key);
    for (const seq of [65_533, 65_534, 65_535, 0, 1, 2]) {
      const plain = rtp(seq, 0xfedcba98);
      const wire = p.protect(plain);
      assert.equal(wire.length, plain.length + 10); // 80-bit tag (RFC 3711 §4.2.1)
      assert.notDeepEqual(wire.subarray(12, plain.length), plain.subarray(12)); // the payload is encrypted
      assert.deepEqual(rx.decrypt(wire), plain);
    }
  });

  it('protects payloads of every length, split or whole, as werift decrypts them', () => {
    const key = randomBytes(30);
    const p = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const rx = session(key);
    // 0 and 1 bytes, around a block, odd lengths, a full 1200-byte packet and a jumbo one
    [0, 1, 15, 16, 17, 33, 1187, 1200, 9001].forEach((n, seq) => {
      const plain = rtp(seq, 7, randomBytes(n));
      assert.deepEqual(rx.decrypt(p.protect(plain)), plain, `${n}-byte payload`);
    });
    const plain = rtp(20, 7, randomBytes(500));
    const parts = p.protectParts(Buffer.from(plain.subarray(0, 12)), plain.subarray(12));
    assert.deepEqual(rx.decrypt(parts), plain);
  });

  it('a packet sent again after the sequence number wrapped keeps its old rollover counter', () => {
    const key = randomBytes(30);
    const p = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const sent = new Map<number, Buffer>();
    for (const seq of [65_534, 65_535, 0, 1]) sent.set(seq, p.protect(rtp(seq, 9)));
    // Retransmissions (RFC 4585 NACK) of packets from before and after the wrap, then new packets.
    assert.deepEqual(p.protect(rtp(65_535, 9)), sent.get(65_535), 'the same index, so the same packet');
    assert.deepEqual(p.protect(rtp(0, 9)), sent.get(0));
    const rx = session(key);
    for (const seq of [65_534, 65_535, 0, 1]) rx.decrypt(sent.get(seq)!);
    for (const seq of [2, 3])
      assert.deepEqual(rx.decrypt(p.protect(rtp(seq, 9))), rtp(seq, 9), 'the counter did not move');
  });

  it('a packet sent again long after still matches its first sending', () => {
    const key = randomBytes(30);
    const p = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key);
    const first = Array.from({ length: 100 }, (_, seq) => p.protect(rtp(seq, 5, Buffer.alloc(1000 + seq, seq))));
    for (const seq of [3, 40, 99]) assert.deepEqual(p.protect(rtp(seq, 5, Buffer.alloc(1000 + seq, seq))), first[seq]);
    const rx = session(key);
    first.forEach((wire, seq) => assert.deepEqual(rx.decrypt(wire), rtp(seq, 5, Buffer.alloc(1000 + seq, seq))));
  });

  it('a flipped bit fails authentication; the 32-bit suite appends 4 bytes', () => {
    const key = randomBytes(30);
    const wire = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', key).protect(rtp(7, 42));
    wire[20] = wire[20]! ^ 1;
    assert.throws(() => session(key).decrypt(wire));
    assert.equal(new SrtpProtector('AES_128_CM_HMAC_SHA1_32', key).protect(rtp(7, 42)).length, rtp(7, 42).length + 4);
  });

  it('rejects wrong keys, suites and non-RTP input', () => {
    assert.throws(() => new SrtpProtector('AES_128_CM_HMAC_SHA1_80', randomBytes(29)), RangeError);
    assert.throws(() => new SrtpProtector('AES_256_CM_HMAC_SHA1_80' as never, randomBytes(30)), RangeError);
    const p = new SrtpProtector('AES_128_CM_HMAC_SHA1_80', randomBytes(30));
    assert.throws(() => p.protect(Buffer.from('garbage')), { code: 'CAMGATE_ENGINE_SRTP' });
    const ext = rtp(1, 1);
    ext[0] = ext[0]! | 0x10; // claims a header extension it does not carry in full
    assert.throws(() => p.protect(ext.subarray(0, 14)), { code: 'CAMGATE_ENGINE_SRTP' });
  });
});
