/**
 * AEAD_AES_128_GCM sender (RFC 7714) against werift's independent
 * implementation, keyed as both ends of a DTLS-SRTP session are.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { ProtectionProfileAeadAes128Gcm, type SrtpSession } from 'werift';
import { SrtpGcmProtector } from '../../src/engine/media/srtp-gcm.js';
import { buildRtpPacket } from '../../src/rtsp/index.js';
import { keyPair } from '../helpers/dtls-srtp.js';

/** Our protector with the sending end's master key and salt, and werift's receiving end. */
function ends(): { p: SrtpGcmProtector; rx: SrtpSession } {
  const { sender, viewer } = keyPair(ProtectionProfileAeadAes128Gcm);
  const { localMasterKey, localMasterSalt } = sender.config.keys;
  return { p: new SrtpGcmProtector(Buffer.concat([localMasterKey, localMasterSalt])), rx: viewer };
}

const rtp = (seq: number, ssrc: number, payload = Buffer.from('an H.264 slice, pretend')) =>
  buildRtpPacket({ payloadType: 102, sequenceNumber: seq, timestamp: 1234, ssrc, marker: true, payload });

const protect = (p: SrtpGcmProtector, pkt: Buffer, headerBytes = 12): Buffer =>
  p.protectParts(pkt.subarray(0, headerBytes), pkt.subarray(headerBytes));

describe('SrtpGcmProtector', () => {
  it('produces packets werift authenticates and decrypts, for SSRCs above 2^31 and across a sequence wrap', () => {
    const { p, rx } = ends();
    for (const seq of [65_533, 65_534, 65_535, 0, 1, 2]) {
      const plain = rtp(seq, 0xfedcba98);
      const wire = protect(p, plain);
      assert.equal(wire.length, plain.length + 16, '128-bit tag (RFC 7714 §12)');
      assert.deepEqual(wire.subarray(0, 12), plain.subarray(0, 12), 'the header travels in the clear');
      assert.notDeepEqual(wire.subarray(12, plain.length), plain.subarray(12), 'the payload is encrypted');
      assert.deepEqual(rx.decrypt(wire), plain);
    }
  });

  it('protects payloads of every length, and headers with CSRCs and an extension, as werift decrypts them', () => {
    const { p, rx } = ends();
    [0, 1, 15, 16, 17, 1187, 1200, 9001].forEach((n, seq) => {
      const plain = rtp(seq, 7, randomBytes(n));
      assert.deepEqual(rx.decrypt(protect(p, plain)), plain, `${n}-byte payload`);
    });
    // Two CSRCs and a one-byte-header extension (RFC 8285): all of it is authenticated, none encrypted.
    const header = Buffer.concat([
      rtp(20, 7, Buffer.alloc(0)),
      randomBytes(8),
      Buffer.from([0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00]),
    ]);
    header[0] = 0x80 | 0x10 | 2;
    const plain = Buffer.concat([header, randomBytes(300)]);
    const wire = protect(p, plain, header.length);
    const tampered = Buffer.from(wire);
    tampered[14] = tampered[14]! ^ 1; // a CSRC byte: authenticated though not encrypted
    assert.throws(() => rx.decrypt(tampered), /authenticate/);
    assert.deepEqual(rx.decrypt(wire), plain);
  });

  it('a packet sent again after the sequence number wrapped keeps its old rollover counter', () => {
    const { p, rx } = ends();
    const sent = new Map<number, Buffer>();
    for (const seq of [65_534, 65_535, 0, 1]) sent.set(seq, Buffer.from(protect(p, rtp(seq, 9))));
    // Retransmissions (RFC 4585 NACK) from before and after the wrap: the same index, so the same bytes.
    assert.deepEqual(protect(p, rtp(65_535, 9)), sent.get(65_535));
    assert.deepEqual(protect(p, rtp(0, 9)), sent.get(0));
    for (const seq of [65_534, 65_535, 0, 1]) rx.decrypt(sent.get(seq)!);
    for (const seq of [2, 3]) assert.deepEqual(rx.decrypt(protect(p, rtp(seq, 9))), rtp(seq, 9));
  });

  it('builds the packet in a given buffer, and a flipped bit fails authentication', () => {
    const { p, rx } = ends();
    const plain = rtp(5, 42, randomBytes(1188));
    const out = Buffer.alloc(p.workBytes(plain.length) + 10, 0xee);
    const wire = p.protectParts(plain.subarray(0, 12), plain.subarray(12), out);
    assert.equal(wire.buffer, out.buffer, 'a view of out');
    assert.equal(out.at(-1), 0xee, 'nothing written past the packet');
    const flipped = Buffer.from(wire);
    flipped[600] = flipped[600]! ^ 1;
    assert.throws(() => rx.decrypt(flipped), /authenticate/);
    assert.deepEqual(rx.decrypt(Buffer.from(wire)), plain);
    assert.throws(() => p.protectParts(plain.subarray(0, 12), plain.subarray(12), Buffer.alloc(100)), RangeError);
  });

  it('rejects wrong keys and non-RTP input', () => {
    assert.throws(() => new SrtpGcmProtector(randomBytes(30)), RangeError, 'an AES-CM key and salt');
    const { p } = ends();
    assert.throws(() => p.protectParts(Buffer.from('garbage garbage'), Buffer.alloc(4)), {
      code: 'CAMGATE_ENGINE_SRTP',
    });
    assert.throws(() => p.protectParts(Buffer.alloc(8, 0x80), Buffer.alloc(4)), { code: 'CAMGATE_ENGINE_SRTP' });
  });
});
