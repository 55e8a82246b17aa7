/**
 * SRTP sender side for AEAD_AES_128_GCM (RFC 7714), the DTLS-SRTP profile
 * werift picks when it is the DTLS server (the engine's own werift when the
 * engine offers, a werift viewer when it offers). `SrtpProtector` (srtp.ts)
 * does AES_CM_128_HMAC_SHA1_80; this is its counterpart with the same
 * `workBytes`/`protectParts` shape, so `DtlsSrtpSink` builds either kind of
 * packet in its send ring and sends it on the ICE pair's socket. The tests
 * decrypt what it makes with an independent implementation (werift).
 */
import { createCipheriv } from 'node:crypto';
import { CamgateError } from '../../util/index.js';
import { deriveSessionKey, senderRollover, type SentIndex } from './srtp.js';

/** RFC 7714 §12: AEAD_AES_128_GCM keys are 128 bits, master salts 96 bits. */
const GCM_MASTER_KEY_BYTES = 16;
const GCM_MASTER_SALT_BYTES = 12;
/** RFC 7714 §12: the authentication tag, 16 octets, follows the ciphertext. */
const TAG_BYTES = 16;
const IV_BYTES = 12;
// RFC 3711 §4.3.2 labels, which RFC 7714 §11 keeps (there is no authentication key).
const LABEL_ENCRYPTION = 0x00;
const LABEL_SALT = 0x02;
/** RFC 7714 §14.2: at most 2^36 octets of plaintext per packet for GCM, and our packets are one datagram. */
const MAX_PAYLOAD_BYTES = 0xffff;

/**
 * Protects outgoing RTP packets of one SRTP session with AES-128-GCM: the
 * RTP header is the additional authenticated data, the payload is encrypted
 * and the 16-byte tag appended (RFC 7714 §8). GCM's keystream cannot be
 * computed ahead as AES-CM's is (its tag needs GHASH, which node:crypto has
 * only inside a GCM cipher), so each packet gets a `createCipheriv` with its
 * own IV: 7–10 µs for a 1200-byte packet here, about twice AES-CM's.
 */
export class SrtpGcmProtector {
  readonly tagLength = TAG_BYTES;
  readonly #key: Buffer;
  readonly #salt: Buffer;
  /** The IV being built: 0x0000 || SSRC || ROC || SEQ, then XORed with the session salt (RFC 7714 §8.1). */
  readonly #iv = Buffer.alloc(IV_BYTES);
  readonly #sent = new Map<number, SentIndex>();

  /** `keyAndSalt` is the 16-byte master key followed by the 12-byte master salt, as DTLS-SRTP exports them. */
  constructor(keyAndSalt: Buffer) {
    if (!Buffer.isBuffer(keyAndSalt) || keyAndSalt.length !== GCM_MASTER_KEY_BYTES + GCM_MASTER_SALT_BYTES) {
      throw new RangeError('SrtpGcmProtector: keyAndSalt must be 28 bytes (16-byte master key + 12-byte master salt)');
    }
    const masterKey = keyAndSalt.subarray(0, GCM_MASTER_KEY_BYTES);
    // RFC 7714 §11: the AES-CM key derivation of RFC 3711 §4.3, the 96-bit salt padded with zeros.
    const masterSalt = keyAndSalt.subarray(GCM_MASTER_KEY_BYTES);
    this.#key = deriveSessionKey(masterKey, masterSalt, LABEL_ENCRYPTION, GCM_MASTER_KEY_BYTES);
    this.#salt = deriveSessionKey(masterKey, masterSalt, LABEL_SALT, GCM_MASTER_SALT_BYTES);
  }

  /** Bytes `protectParts` works in for a packet of `rtpBytes` (header and payload): what an `out` must hold. */
  workBytes(rtpBytes: number): number {
    return rtpBytes + TAG_BYTES;
  }

  /**
   * The SRTP packet for an RTP packet given as its complete header (fixed
   * part, CSRCs, extension) and its payload; neither is kept or changed.
   * With `out` (at least `workBytes` long) the packet is built in it and the
   * result is a view of it.
   */
  protectParts(header: Buffer, payload: Buffer, out?: Buffer): Buffer {
    if (header.length < 12 || header[0]! >> 6 !== 2) {
      throw new CamgateError('CAMGATE_ENGINE_SRTP', 'not an RTP v2 header');
    }
    if (payload.length > MAX_PAYLOAD_BYTES)
      throw new CamgateError('CAMGATE_ENGINE_SRTP', 'RTP payload too large for SRTP');
    const len = header.length + payload.length;
    const work = this.workBytes(len);
    if (out && out.length < work) throw new RangeError(`SrtpGcmProtector: out must hold ${work} bytes`);
    const buf = out ?? Buffer.allocUnsafe(work);
    const seq = header.readUInt16BE(2);
    const ssrc = header.readUInt32BE(8);
    let sent = this.#sent.get(ssrc);
    if (!sent) {
      sent = { seq, roc: 0 };
      this.#sent.set(ssrc, sent);
    }
    const roc = senderRollover(sent, seq);
    const iv = this.#iv;
    iv.writeUInt16BE(0, 0);
    iv.writeUInt32BE(ssrc, 2);
    iv.writeUInt32BE(roc, 6);
    iv.writeUInt16BE(seq, 10);
    for (let i = 0; i < IV_BYTES; i++) iv[i] = iv[i]! ^ this.#salt[i]!;
    const cipher = createCipheriv('aes-128-gcm', this.#key, iv);
    cipher.setAAD(header);
    header.copy(buf, 0);
    cipher.update(payload).copy(buf, header.length);
    cipher.final();
    cipher.getAuthTag().copy(buf, len);
    return buf.subarray(0, work);
  }
}
