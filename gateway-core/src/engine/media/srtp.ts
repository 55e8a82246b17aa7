/**
 * SRTP sender side (RFC 3711) for the SDES-keyed RtpEndpoint: AES-128 in
 * counter mode with HMAC-SHA1 authentication, the default transform
 * (`AES_CM_128_HMAC_SHA1_80`, RFC 3711 §5, RFC 4568 §6.2.1) that HomeKit
 * controllers ask for, and its 32-bit-tag variant. Written on node:crypto so
 * the engine owns what it sends; the tests check it against RFC 3711
 * Appendix B and decrypt with an independent implementation (werift).
 */
import { createCipheriv, hash, type Cipher } from 'node:crypto';
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
const SHA1_BYTES = 20;
const AES_BLOCK = 16;
/** Counter blocks per packet: the block counter is the IV's low 16 bits (RFC 3711 §4.1.1). */
const MAX_BLOCKS = 0x10000;

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

/** What a sender knows of one SSRC's packet indices: the highest it sent (RFC 3711 §3.3.1). */
export interface SentIndex {
  seq: number;
  roc: number;
}

/**
 * The rollover counter of a packet this sender sends (RFC 3711 §3.3.1), and
 * `s` moved on to it when it is the newest. New packets come in order and the
 * counter grows when the sequence number wraps; a packet sent again on NACK is
 * older than the newest and keeps the counter it had, which is estimated as a
 * receiver would (Appendix A). RFC 7714 §8.1 puts the same counter in its IV.
 */
export function senderRollover(s: SentIndex, seq: number): number {
  let roc = s.roc;
  if (s.seq < 0x8000) {
    if (seq - s.seq > 0x8000 && roc > 0) roc--;
  } else if (s.seq - 0x8000 > seq) {
    roc = (roc + 1) >>> 0;
  }
  if (roc > s.roc || (roc === s.roc && seq > s.seq)) {
    s.seq = seq;
    s.roc = roc;
  }
  return roc;
}

/** Packets whose keystream is computed in one go: AES runs once per window, not once per packet. */
const WINDOW = 32;

/** One SSRC's state: its highest index sent, and keystream computed ahead for the packets after it. */
interface Stream extends SentIndex {
  /** Keystream of indices [from, from + WINDOW), `stride` bytes each. */
  keystream: Int32Array | undefined;
  from: number;
  stride: number;
}

/**
 * Protects outgoing RTP packets of one SRTP session (one master key, any
 * number of SSRCs). It runs once per packet per viewer, so it does as
 * little per packet as it can. The AES-CM keystream depends only on the
 * SSRC and the packet index (RFC 3711 §4.1.1), and a sender knows the
 * indices it will use next: one AES-128-ECB cipher kept for the session
 * turns the counter blocks of a window of packets into their keystreams in
 * one call (`createCipheriv` per packet, with each packet's IV, costs more
 * than the encryption). HMAC-SHA1 is two one-shot hashes over buffers laid
 * out for them.
 */
export class SrtpProtector {
  readonly suite: SrtpSuite;
  /** Bytes the authentication tag adds to each packet. */
  readonly tagLength: number;
  readonly #salt: Buffer;
  /** AES-128 under the session key, block by block: the keystream is E(k_e, IV + j). */
  readonly #aes: Cipher;
  /** Counter blocks being encrypted (grown on demand). */
  #counters = Buffer.alloc(0);
  /** Where the payload is encrypted, a word at a time (grown on demand). */
  #scratch = new Int32Array(0);
  #scratchBytes = Buffer.alloc(0);
  /** Word offset of the current packet's keystream in what `#keystreamOf` returned. */
  #keystreamAt = 0;
  /** HMAC-SHA1 key XOR ipad (RFC 2104 §2), computed once. */
  readonly #ipad: Buffer;
  /** Key XOR opad followed by room for the inner digest: the outer hash's whole input. */
  readonly #outer: Buffer;
  readonly #streams = new Map<number, Stream>();

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
    this.#aes = createCipheriv('aes-128-ecb', deriveSessionKey(masterKey, masterSalt, LABEL_ENCRYPTION, 16), null);
    this.#aes.setAutoPadding(false);
    const authKey = deriveSessionKey(masterKey, masterSalt, LABEL_AUTH, AUTH_KEY_BYTES);
    this.#ipad = Buffer.alloc(SHA1_BLOCK_BYTES, 0x36);
    this.#outer = Buffer.alloc(SHA1_BLOCK_BYTES + SHA1_BYTES, 0x5c);
    for (let i = 0; i < AUTH_KEY_BYTES; i++) {
      this.#ipad[i] = this.#ipad[i]! ^ authKey[i]!;
      this.#outer[i] = this.#outer[i]! ^ authKey[i]!;
    }
    this.#salt = deriveSessionKey(masterKey, masterSalt, LABEL_SALT, SRTP_MASTER_SALT_BYTES);
  }

  /** The SRTP packet for one RTP packet: payload encrypted, tag appended (RFC 3711 §3.1). */
  protect(rtp: Buffer): Buffer {
    const headerLen = rtpHeaderLength(rtp);
    return this.protectParts(rtp.subarray(0, headerLen), rtp.subarray(headerLen));
  }

  /** Bytes `protectParts` works in for a packet of `rtpBytes` (header and payload): what an `out` must hold. */
  workBytes(rtpBytes: number): number {
    return SHA1_BLOCK_BYTES + rtpBytes + Math.max(4, this.tagLength);
  }

  /**
   * `protect()` for a packet in two parts: its complete RTP header (fixed
   * part, CSRCs, extension) and its payload. Neither is kept or changed.
   * With `out` (at least `workBytes` long) the packet is built in it and the
   * result is a view of it, instead of a new buffer per packet.
   */
  protectParts(header: Buffer, payload: Buffer, out?: Buffer): Buffer {
    if (header.length < 12 || header[0]! >> 6 !== 2) {
      throw new CamgateError('CAMGATE_ENGINE_SRTP', 'not an RTP v2 header');
    }
    const blocks = Math.ceil(payload.length / AES_BLOCK);
    if (blocks > MAX_BLOCKS) throw new CamgateError('CAMGATE_ENGINE_SRTP', 'RTP payload too large for SRTP');
    const seq = header.readUInt16BE(2);
    const ssrc = header.readUInt32BE(8);
    const stream = this.#stream(ssrc, seq);
    const roc = senderRollover(stream, seq);
    // One buffer: ipad || header || encrypted payload || ROC, so the inner hash of the HMAC
    // (RFC 2104: H(K^opad || H(K^ipad || m)), m = authenticated portion || ROC, RFC 3711 §4.2)
    // is one call; the tag then takes the ROC's place and the packet is a slice of it.
    const len = header.length + payload.length;
    const work = this.workBytes(len);
    if (out && out.length < work) throw new RangeError(`SrtpProtector: out must hold ${work} bytes`);
    const buf = out ?? Buffer.allocUnsafe(work);
    this.#ipad.copy(buf, 0);
    header.copy(buf, SHA1_BLOCK_BYTES);
    const at = SHA1_BLOCK_BYTES + header.length;
    if (blocks > 0) {
      // XORed in a scratch buffer both views of which are kept: no typed array per packet.
      if (this.#scratch.length < blocks * 4) {
        this.#scratch = new Int32Array(blocks * 4);
        this.#scratchBytes = Buffer.from(this.#scratch.buffer);
      }
      const scratch = this.#scratch;
      payload.copy(this.#scratchBytes);
      const keystream = this.#keystreamOf(stream, ssrc, roc * 0x10000 + seq, blocks * AES_BLOCK);
      const k = this.#keystreamAt;
      for (let w = 0; w < blocks * 4; w++) scratch[w] = scratch[w]! ^ keystream[k + w]!;
      this.#scratchBytes.copy(buf, at, 0, payload.length);
    }
    buf.writeUInt32BE(roc, SHA1_BLOCK_BYTES + len);
    // The digests come back as 'binary' (latin1: one char per byte) strings written into place: a
    // 'buffer' digest is a new ArrayBuffer each time, and this runs twice per packet per viewer
    // (3.3 against 1.5 µs for both hashes of a 1200-byte packet, microbenchmark).
    const inner = hash('sha1', buf.subarray(0, SHA1_BLOCK_BYTES + len + 4), 'binary');
    this.#outer.write(inner, SHA1_BLOCK_BYTES, SHA1_BYTES, 'latin1');
    // RFC 3711 §4.2.1: the tag is the HMAC truncated to the tag length.
    buf.write(hash('sha1', this.#outer, 'binary'), SHA1_BLOCK_BYTES + len, this.tagLength, 'latin1');
    return buf.subarray(SHA1_BLOCK_BYTES, SHA1_BLOCK_BYTES + len + this.tagLength);
  }

  #stream(ssrc: number, seq: number): Stream {
    let s = this.#streams.get(ssrc);
    if (!s) {
      s = { seq, roc: 0, keystream: undefined, from: 0, stride: 0 };
      this.#streams.set(ssrc, s);
    }
    return s;
  }

  /**
   * Keystream words for packet `index` of `ssrc`, at least `bytes` of them
   * from `#keystreamAt` on: from the stream's window when it holds the
   * packet, else from a new window starting at `index`, except for a packet
   * older than the window (sent again), which gets its own.
   */
  #keystreamOf(s: Stream, ssrc: number, index: number, bytes: number): Int32Array {
    if (s.keystream && index >= s.from && index < s.from + WINDOW && bytes <= s.stride) {
      this.#keystreamAt = ((index - s.from) * s.stride) >>> 2;
      return s.keystream;
    }
    this.#keystreamAt = 0;
    if (s.keystream && index < s.from) return words(this.#aesCm(ssrc, index, 1, bytes));
    s.stride = Math.max(s.stride, bytes);
    s.from = index;
    s.keystream = words(this.#aesCm(ssrc, index, WINDOW, s.stride));
    return s.keystream;
  }

  /**
   * AES-CM keystream (RFC 3711 §4.1.1) of `count` packets from `index` on,
   * `stride` bytes each: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16),
   * and block j of a packet is E(k_e, IV + j).
   */
  #aesCm(ssrc: number, index: number, count: number, stride: number): Buffer {
    const size = count * stride;
    if (this.#counters.length < size) this.#counters = Buffer.alloc(size);
    const ctr = this.#counters;
    for (let p = 0; p < count; p++) {
      const i = index + p;
      const at = p * stride;
      this.#salt.copy(ctr, at);
      // `^` yields a signed 32-bit value: `>>> 0` brings it back to unsigned for writeUInt32BE.
      ctr.writeUInt32BE((ctr.readUInt32BE(at + 4) ^ ssrc) >>> 0, at + 4);
      ctr.writeUInt32BE((ctr.readUInt32BE(at + 8) ^ Math.floor(i / 0x10000)) >>> 0, at + 8);
      ctr.writeUInt16BE(ctr.readUInt16BE(at + 12) ^ (i & 0xffff), at + 12);
      ctr[at + 14] = 0;
      ctr[at + 15] = 0;
      for (let filled = AES_BLOCK; filled < stride; filled *= 2) {
        ctr.copyWithin(at + filled, at, at + Math.min(filled, stride - filled));
      }
      for (let j = 1, b = at + AES_BLOCK + 14; j < stride / AES_BLOCK; j++, b += AES_BLOCK) {
        ctr[b] = j >>> 8;
        ctr[b + 1] = j & 0xff;
      }
    }
    return this.#aes.update(ctr.subarray(0, size));
  }
}

/** `buf` as 32-bit words (its length is a multiple of 4), copied when it does not start on a word boundary. */
function words(buf: Buffer): Int32Array {
  const b = buf.byteOffset % 4 === 0 ? buf : Buffer.from(buf);
  return new Int32Array(b.buffer, b.byteOffset, b.length >>> 2);
}
