/**
 * The other half of SDES-SRTP for the RtpEndpoint's audio (RFC 3711):
 * receiving SRTP (HomeKit's two-way audio: the user's voice, Opus) and
 * SRTCP in both directions (the sender reports that go with the audio the
 * engine sends). SrtpProtector (srtp.ts) stays the fast path for outgoing
 * video; these run at audio rates (50 packets a second), so they use one
 * `createCipheriv` per packet and keep no keystream windows.
 */
import { createCipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { CamgateError } from '../../util/index.js';
import {
  SRTP_MASTER_KEY_BYTES,
  SRTP_MASTER_SALT_BYTES,
  SRTP_SUITES,
  deriveSessionKey,
  type SrtpSuite,
} from './srtp.js';

// RFC 3711 §4.3.2: key derivation labels.
const LABEL_RTP_ENCRYPTION = 0x00;
const LABEL_RTP_AUTH = 0x01;
const LABEL_RTP_SALT = 0x02;
const LABEL_RTCP_ENCRYPTION = 0x03;
const LABEL_RTCP_AUTH = 0x04;
const LABEL_RTCP_SALT = 0x05;
const AUTH_KEY_BYTES = 20; // n_a = 160 bits (RFC 3711 §5.2)
/** SRTCP's tag is 80 bits for both AES-128 suites (RFC 4568 §6.2.1: only the SRTP tag is shortened to 32). */
const SRTCP_TAG_BYTES = 10;
/** E flag + 31-bit SRTCP index (RFC 3711 §3.4). */
const SRTCP_INDEX_BYTES = 4;
/** Replay window of received packet indices (RFC 3711 §3.3.2 requires at least 64). */
const REPLAY_WINDOW = 64n;
/** Largest packet accepted for unprotect: a UDP datagram. */
const MAX_PACKET_BYTES = 65_535;

function srtpError(message: string): CamgateError {
  return new CamgateError('CAMGATE_ENGINE_SRTP', message);
}

interface SessionKeys {
  enc: Buffer;
  auth: Buffer;
  salt: Buffer;
}

function keysFor(keyAndSalt: Buffer, labels: [number, number, number]): SessionKeys {
  const mk = keyAndSalt.subarray(0, SRTP_MASTER_KEY_BYTES);
  const ms = keyAndSalt.subarray(SRTP_MASTER_KEY_BYTES);
  return {
    enc: deriveSessionKey(mk, ms, labels[0], 16),
    auth: deriveSessionKey(mk, ms, labels[1], AUTH_KEY_BYTES),
    salt: deriveSessionKey(mk, ms, labels[2], SRTP_MASTER_SALT_BYTES),
  };
}

function checkArgs(who: string, suite: SrtpSuite, keyAndSalt: Buffer): void {
  if (!SRTP_SUITES.includes(suite)) {
    throw new RangeError(`${who}: suite must be one of ${SRTP_SUITES.join(', ')}, got ${String(suite)}`);
  }
  if (!Buffer.isBuffer(keyAndSalt) || keyAndSalt.length !== SRTP_MASTER_KEY_BYTES + SRTP_MASTER_SALT_BYTES) {
    throw new RangeError(`${who}: keyAndSalt must be 30 bytes (16-byte master key + 14-byte master salt)`);
  }
}

/** AES-CM (RFC 3711 §4.1.1): IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16). */
function aesCm(keys: SessionKeys, ssrc: number, index: bigint, data: Buffer): Buffer {
  const iv = Buffer.alloc(16);
  keys.salt.copy(iv, 0);
  iv.writeUInt32BE((iv.readUInt32BE(4) ^ ssrc) >>> 0, 4);
  const hi = Number((index >> 16n) & 0xffffffffn);
  const lo = Number(index & 0xffffn);
  iv.writeUInt32BE((iv.readUInt32BE(8) ^ hi) >>> 0, 8);
  iv.writeUInt16BE(iv.readUInt16BE(12) ^ lo, 12);
  const c = createCipheriv('aes-128-ctr', keys.enc, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

function hmac(key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac('sha1', key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Length of the fixed header, CSRC list and header extension (RFC 3550 §5.1, §5.3.1). */
function rtpHeaderLength(pkt: Buffer): number {
  if (pkt.length < 12 || pkt[0]! >> 6 !== 2) throw srtpError('not an RTP v2 packet');
  let len = 12 + (pkt[0]! & 0x0f) * 4;
  if (pkt[0]! & 0x10) {
    if (pkt.length < len + 4) throw srtpError('truncated RTP header extension');
    len += 4 + pkt.readUInt16BE(len + 2) * 4;
  }
  if (pkt.length < len) throw srtpError('truncated RTP header');
  return len;
}

interface ReceiveState {
  /** Highest authenticated index (48 bits, ROC * 2^16 + SEQ). */
  highest: bigint;
  /** Bit i set: index `highest - i` was received (replay list, RFC 3711 §3.3.2). */
  window: bigint;
}

/**
 * Authenticates and decrypts incoming SRTP packets of one master key, any
 * number of SSRCs (RFC 3711 §3.3). Each SSRC's rollover counter is estimated
 * as Appendix A describes, and a packet already received (or older than the
 * 64-packet window) is refused as a replay. A packet that fails is thrown
 * away as a CAMGATE_ENGINE_SRTP error and leaves the state unchanged.
 */
export class SrtpUnprotector {
  readonly suite: SrtpSuite;
  readonly tagLength: number;
  readonly #keys: SessionKeys;
  readonly #streams = new Map<number, ReceiveState>();
  /** SSRCs tracked at most: each costs a few bytes, but a sender may change SSRC on every packet. */
  readonly #maxStreams: number;

  constructor(suite: SrtpSuite, keyAndSalt: Buffer, opts: { maxStreams?: number } = {}) {
    checkArgs('SrtpUnprotector', suite, keyAndSalt);
    this.suite = suite;
    this.tagLength = suite === 'AES_128_CM_HMAC_SHA1_80' ? 10 : 4;
    this.#keys = keysFor(keyAndSalt, [LABEL_RTP_ENCRYPTION, LABEL_RTP_AUTH, LABEL_RTP_SALT]);
    this.#maxStreams = opts.maxStreams ?? 16;
  }

  /** The RTP packet inside an SRTP packet; throws CAMGATE_ENGINE_SRTP when it does not authenticate or is a replay. */
  unprotect(srtp: Buffer): Buffer {
    if (srtp.length > MAX_PACKET_BYTES) throw srtpError('SRTP packet too large');
    if (srtp.length < 12 + this.tagLength) throw srtpError('SRTP packet too short');
    const body = srtp.subarray(0, srtp.length - this.tagLength);
    const headerLen = rtpHeaderLength(body);
    const seq = body.readUInt16BE(2);
    const ssrc = body.readUInt32BE(8);
    const state = this.#streams.get(ssrc);
    const index = state ? estimateIndex(state.highest, seq) : BigInt(seq);
    if (state) {
      const delta = state.highest - index;
      if (delta >= REPLAY_WINDOW || (delta >= 0n && (state.window >> delta) & 1n)) {
        throw srtpError('replayed or too old SRTP packet');
      }
    }
    const roc = Buffer.alloc(4);
    roc.writeUInt32BE(Number((index >> 16n) & 0xffffffffn));
    const tag = hmac(this.#keys.auth, body, roc).subarray(0, this.tagLength);
    if (!timingSafeEqual(tag, srtp.subarray(body.length))) throw srtpError('SRTP authentication failed');
    this.#remember(ssrc, state, index);
    const payload = aesCm(this.#keys, ssrc, index, body.subarray(headerLen));
    return Buffer.concat([body.subarray(0, headerLen), payload]);
  }

  #remember(ssrc: number, state: ReceiveState | undefined, index: bigint): void {
    if (!state) {
      if (this.#streams.size >= this.#maxStreams) this.#streams.delete(this.#streams.keys().next().value!);
      this.#streams.set(ssrc, { highest: index, window: 1n });
      return;
    }
    if (index > state.highest) {
      const shift = index - state.highest;
      state.window = shift >= REPLAY_WINDOW ? 1n : ((state.window << shift) | 1n) & ((1n << REPLAY_WINDOW) - 1n);
      state.highest = index;
    } else {
      state.window |= 1n << (state.highest - index);
    }
  }
}

/** RFC 3711 Appendix A: the index of a received SEQ given the highest index so far. */
function estimateIndex(highest: bigint, seq: number): bigint {
  const sl = Number(highest & 0xffffn);
  let roc = highest >> 16n;
  if (sl < 0x8000) {
    if (seq - sl > 0x8000 && roc > 0n) roc -= 1n;
  } else if (sl - 0x8000 > seq) {
    roc += 1n;
  }
  return (roc << 16n) | BigInt(seq);
}

/**
 * SRTCP (RFC 3711 §3.4) for one master key: `protect` encrypts a compound
 * RTCP packet the engine sends (its sender reports) and `unprotect` reads
 * one the remote sends (receiver reports). The SRTCP index counts the
 * packets this side protected; received ones get replay protection like SRTP.
 */
export class SrtcpContext {
  readonly #keys: SessionKeys;
  #sendIndex = 0;
  readonly #received = new Map<number, ReceiveState>();

  constructor(suite: SrtpSuite, keyAndSalt: Buffer) {
    checkArgs('SrtcpContext', suite, keyAndSalt);
    this.#keys = keysFor(keyAndSalt, [LABEL_RTCP_ENCRYPTION, LABEL_RTCP_AUTH, LABEL_RTCP_SALT]);
  }

  /** SRTCP of one (compound) RTCP packet: all after the sender's SSRC encrypted, E||index, 80-bit tag. */
  protect(rtcp: Buffer): Buffer {
    if (rtcp.length < 8 || rtcp[0]! >> 6 !== 2) throw srtpError('not an RTCP v2 packet');
    const index = this.#sendIndex;
    this.#sendIndex = (this.#sendIndex + 1) & 0x7fffffff; // 31 bits (RFC 3711 §3.4)
    const ssrc = rtcp.readUInt32BE(4);
    const enc = aesCm(this.#keys, ssrc, BigInt(index), rtcp.subarray(8));
    const ei = Buffer.alloc(SRTCP_INDEX_BYTES);
    ei.writeUInt32BE((0x80000000 | index) >>> 0); // E = 1: encrypted
    const authed = Buffer.concat([rtcp.subarray(0, 8), enc, ei]);
    return Buffer.concat([authed, hmac(this.#keys.auth, authed).subarray(0, SRTCP_TAG_BYTES)]);
  }

  /** The RTCP packet inside an SRTCP packet; throws CAMGATE_ENGINE_SRTP when it does not authenticate or is a replay. */
  unprotect(srtcp: Buffer): Buffer {
    if (srtcp.length > MAX_PACKET_BYTES) throw srtpError('SRTCP packet too large');
    if (srtcp.length < 8 + SRTCP_INDEX_BYTES + SRTCP_TAG_BYTES || srtcp[0]! >> 6 !== 2) {
      throw srtpError('not an SRTCP packet');
    }
    const authed = srtcp.subarray(0, srtcp.length - SRTCP_TAG_BYTES);
    const tag = hmac(this.#keys.auth, authed).subarray(0, SRTCP_TAG_BYTES);
    if (!timingSafeEqual(tag, srtcp.subarray(authed.length))) throw srtpError('SRTCP authentication failed');
    const ei = authed.readUInt32BE(authed.length - SRTCP_INDEX_BYTES);
    const index = BigInt(ei & 0x7fffffff);
    const ssrc = srtcp.readUInt32BE(4);
    const state = this.#received.get(ssrc);
    if (state) {
      const delta = state.highest - index;
      if (delta >= REPLAY_WINDOW || (delta >= 0n && (state.window >> delta) & 1n)) {
        throw srtpError('replayed or too old SRTCP packet');
      }
      if (index > state.highest) {
        const shift = index - state.highest;
        state.window = shift >= REPLAY_WINDOW ? 1n : ((state.window << shift) | 1n) & ((1n << REPLAY_WINDOW) - 1n);
        state.highest = index;
      } else state.window |= 1n << delta;
    } else {
      if (this.#received.size >= 16) this.#received.delete(this.#received.keys().next().value!);
      this.#received.set(ssrc, { highest: index, window: 1n });
    }
    const body = authed.subarray(8, authed.length - SRTCP_INDEX_BYTES);
    const clear = ei & 0x80000000 ? aesCm(this.#keys, ssrc, index, body) : body;
    return Buffer.concat([srtcp.subarray(0, 8), clear]);
  }
}
