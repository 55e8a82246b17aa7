/**
 * SRTP sender side (RFC 3711) for the SDES-keyed RtpEndpoint: AES-128 in
 * counter mode with HMAC-SHA1 authentication, the default transform
 * (`AES_CM_128_HMAC_SHA1_80`, RFC 3711 §5, RFC 4568 §6.2.1) that HomeKit
 * controllers ask for, and its 32-bit-tag variant. Written on node:crypto so
 * the engine owns what it sends; the tests check it against RFC 3711
 * Appendix B and decrypt with an independent implementation (werift).
 */
import { createCipheriv, hash } from 'node:crypto';
import { CamgateError } from '../../util/index.js';

/** Kurento's `CryptoSuite` names (elements.kmd.json) the engine implements. */
export type SrtpSuite = 'AES_128_CM_HMAC_SHA1_80' | 'AES_128_CM_HMAC_SHA1_32';

export const SRTP_SUITES: readonly SrtpSuite[] = ['AES_128_CM_HMAC_SHA1_80', 'AES_128_CM_HMAC_SHA1_32'];

/** The SDP name of a suite (RFC 4568 §6.2.1 spells them `AES_CM_128_…`). */
export function sdpSuiteName(suite: SrtpSuite): string {
  return suite === 'AES_128_CM_HMAC_SHA1_80' ? 'AES_CM_128_HMAC_SHA1_80' : 'AES_CM_128_HMAC_SHA1_32';
}

/** Master key 128 bits, master salt 112 bits (RFC 3711 §8.2). */
export const SRTP_MASTER_KEY_BYTES = 16;
export const SRTP_MASTER_SALT_BYTES = 14;

// RFC 3711 §4.3.2: key derivation labels for SRTP.
const LABEL_ENCRYPTION = 0x00;
const LABEL_AUTH = 0x01;
const LABEL_SALT = 0x02;
const AUTH_KEY_BYTES = 20; // n_a = 160 bits (RFC 3711 §5.2)
const SHA1_BLOCK_BYTES = 64; // HMAC's B for SHA-1 (RFC 2104 §2)

/** AES-CM keystream of `length` bytes from a 16-byte IV (RFC 3711 §4.1.1). */
function aesCm(key: Buffer, iv: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv('aes-128-ctr', key, iv);
  return Buffer.concat([cipher.update(data), cipher.final()]);
}

/**
 * RFC 3711 §4.3.1 with key_derivation_rate 0: x = (label || r) XOR master_salt
 * with r = 0, and the session key is the AES-CM keystream for IV = x * 2^16.
 */
export function deriveSessionKey(masterKey: Buffer, masterSalt: Buffer, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  masterSalt.copy(iv, 0);
  // key_id = label (8 bits) || r (48 bits, zero) sits in the low 56 bits of the 112-bit salt.
  iv[7] = iv[7]! ^ label;
  return aesCm(masterKey, iv, Buffer.alloc(length));
}

/** Length of the fixed header, CSRC list and header extension (RFC 3550 §5.1, §5.3.1). */
function rtpHeaderLength(pkt: Buffer): number {
  if (pkt.length < 12 || pkt[0]! >> 6 !== 2) throw new CamgateError('CAMGATE_ENGINE_SRTP', 'not an RTP v2 packet');
  let len = 12 + (pkt[0]! & 0x0f) * 4;
  if (pkt[0]! & 0x10) {
    if (pkt.length < len + 4) throw new CamgateError('CAMGATE_ENGINE_SRTP', 'truncated RTP header extension');
    len += 4 + pkt.readUInt16BE(len + 2) * 4;
  }
  if (pkt.length < len) throw new CamgateError('CAMGATE_ENGINE_SRTP', 'truncated RTP header');
  return len;
}

/** Protects outgoing RTP packets of one SRTP session (one master key, any number of SSRCs). */
export class SrtpProtector {
  readonly suite: SrtpSuite;
  /** Bytes the authentication tag adds to each packet. */
  readonly tagLength: number;
  readonly #encKey: Buffer;
  readonly #salt: Buffer;
  /** HMAC-SHA1 key XOR ipad and XOR opad (RFC 2104 §2), computed once. */
  readonly #ipad: Buffer;
  readonly #opad: Buffer;
  /** Per SSRC: the last sequence number sent and the rollover counter (RFC 3711 §3.3.1). */
  readonly #streams = new Map<number, { seq: number; roc: number }>();

  /** `keyAndSalt` is the 30-byte master key followed by the master salt, as SDES carries it (RFC 4568 §6.1). */
  constructor(suite: SrtpSuite, keyAndSalt: Buffer) {
    if (!SRTP_SUITES.includes(suite)) {
      throw new RangeError(`SrtpProtector: suite must be one of ${SRTP_SUITES.join(', ')}, got ${String(suite)}`);
    }
    if (!Buffer.isBuffer(keyAndSalt) || keyAndSalt.length !== SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) {
      throw new RangeError('SrtpProtector: keyAndSalt must be 30 bytes (16-byte master key + 14-byte master salt)');
    }
    const masterKey = keyAndSalt.subarray(0, SRTP_MASTER_KEY_BYTES);
    const masterSalt = keyAndSalt.subarray(SRTP_MASTER_KEY_BYTES);
    this.suite = suite;
    this.tagLength = suite === 'AES_128_CM_HMAC_SHA1_80' ? 10 : 4;
    this.#encKey = deriveSessionKey(masterKey, masterSalt, LABEL_ENCRYPTION, SRTP_MASTER_KEY_BYTES);
    const authKey = deriveSessionKey(masterKey, masterSalt, LABEL_AUTH, AUTH_KEY_BYTES);
    this.#ipad = Buffer.alloc(SHA1_BLOCK_BYTES, 0x36);
    this.#opad = Buffer.alloc(SHA1_BLOCK_BYTES, 0x5c);
    for (let i = 0; i < AUTH_KEY_BYTES; i++) {
      this.#ipad[i] = this.#ipad[i]! ^ authKey[i]!;
      this.#opad[i] = this.#opad[i]! ^ authKey[i]!;
    }
    this.#salt = deriveSessionKey(masterKey, masterSalt, LABEL_SALT, SRTP_MASTER_SALT_BYTES);
  }

  /** The SRTP packet for one RTP packet: payload encrypted, tag appended (RFC 3711 §3.1). */
  protect(rtp: Buffer): Buffer {
    const headerLen = rtpHeaderLength(rtp);
    return this.#protectParts(rtp.subarray(0, headerLen), rtp.subarray(headerLen));
  }

  /** `protect()` on a complete RTP header (fixed part, CSRCs, extension) and the payload. */
  #protectParts(header: Buffer, payload: Buffer): Buffer {
    if (header.length < 12 || header[0]! >> 6 !== 2) {
      throw new CamgateError('CAMGATE_ENGINE_SRTP', 'not an RTP v2 header');
    }
    const seq = header.readUInt16BE(2);
    const ssrc = header.readUInt32BE(8);
    const roc = this.#rollover(ssrc, seq);
    // RFC 3711 §4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), i = 2^16 * ROC + SEQ.
    const iv = Buffer.alloc(16);
    this.#salt.copy(iv, 0);
    // `^` yields a signed 32-bit value: `>>> 0` brings it back to unsigned for writeUInt32BE.
    iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
    iv.writeUInt32BE((iv.readUInt32BE(8) ^ roc) >>> 0, 8);
    iv.writeUInt16BE(iv.readUInt16BE(12) ^ seq, 12);
    // One buffer: ipad || header || encrypted payload || ROC, so the inner hash of the HMAC
    // (RFC 2104: H(K^opad || H(K^ipad || m)), m = authenticated portion || ROC, RFC 3711 §4.2)
    // is one call; the tag then takes the ROC's place and the packet is a slice of it.
    const len = header.length + payload.length;
    const room = SHA1_BLOCK_BYTES + len + Math.max(4, this.tagLength);
    const buf = Buffer.allocUnsafe(room);
    this.#ipad.copy(buf, 0);
    header.copy(buf, SHA1_BLOCK_BYTES);
    createCipheriv('aes-128-ctr', this.#encKey, iv)
      .update(payload)
      .copy(buf, SHA1_BLOCK_BYTES + header.length);
    buf.writeUInt32BE(roc, SHA1_BLOCK_BYTES + len);
    const inner = hash('sha1', buf.subarray(0, SHA1_BLOCK_BYTES + len + 4), 'buffer');
    const tag = hash('sha1', Buffer.concat([this.#opad, inner]), 'buffer');
    tag.copy(buf, SHA1_BLOCK_BYTES + len, 0, this.tagLength); // RFC 3711 §4.2.1: truncated to the tag length
    return buf.subarray(SHA1_BLOCK_BYTES, SHA1_BLOCK_BYTES + len + this.tagLength);
  }

  /** A sender knows its own index: the ROC grows when the sequence number wraps (RFC 3711 §3.3.1). */
  #rollover(ssrc: number, seq: number): number {
    const s = this.#streams.get(ssrc);
    if (!s) {
      this.#streams.set(ssrc, { seq, roc: 0 });
      return 0;
    }
    if (seq < s.seq && s.seq - seq > 0x8000) s.roc = (s.roc + 1) >>> 0;
    s.seq = seq;
    return s.roc;
  }
}
