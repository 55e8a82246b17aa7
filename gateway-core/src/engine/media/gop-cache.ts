import { NAL_TYPE, nalType, type H264AccessUnit } from '../../rtsp/index.js';

/**
 * The access units since the last IDR, so that a viewer who joins between two
 * keyframes (cameras often send one every 2–4 s) decodes a picture at once
 * instead of staring at black until the next IDR.
 *
 * The cache holds references to the camera's buffers (no copies). It is bounded
 * in bytes: a camera with a huge GOP (or a broken one that never sends an IDR
 * again) must not exhaust memory. When the bound is hit the cache is dropped
 * and stays empty until the next IDR — a partial GOP would still be decodable,
 * but its tail would be missing, so viewers would see a frozen or smeared
 * picture; waiting for the next IDR is the honest choice.
 */
export class GopCache {
  readonly maxBytes: number;
  #aus: H264AccessUnit[] = [];
  #bytes = 0;
  #sps: Buffer | undefined;
  #pps: Buffer | undefined;
  /** Set when the bound was hit during this GOP; cleared by the next IDR. */
  #overflowed = false;

  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 1) {
      throw new RangeError(`GopCache: maxBytes must be a positive integer, got ${String(maxBytes)}`);
    }
    this.maxBytes = maxBytes;
  }

  /** Bytes of NAL data held. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Access units held. */
  get length(): number {
    return this.#aus.length;
  }

  /** True when the current GOP outgrew `maxBytes` (cache empty until the next IDR). */
  get overflowed(): boolean {
    return this.#overflowed;
  }

  /** Out-of-band parameter sets (SDP `sprop-parameter-sets`, RFC 6184 §8.1), used when an IDR comes without them. */
  setParameterSets(sps: Buffer | undefined, pps: Buffer | undefined): void {
    if (sps && sps.length > 0) this.#sps = sps;
    if (pps && pps.length > 0) this.#pps = pps;
  }

  /**
   * Adds one access unit; returns the unit as cached (an IDR without SPS/PPS gets
   * the last known ones prepended, so the cached GOP always starts decodable).
   * Non-IDR units before the first IDR are not cached.
   */
  push(au: H264AccessUnit): H264AccessUnit {
    for (const n of au.nalus) {
      const t = nalType(n);
      if (t === NAL_TYPE.SPS) this.#sps = n;
      else if (t === NAL_TYPE.PPS) this.#pps = n;
    }
    if (au.keyframe) {
      const unit = withParameterSets(au, this.#sps, this.#pps);
      this.#aus = [unit];
      this.#bytes = auBytes(unit);
      this.#overflowed = this.#bytes > this.maxBytes;
      if (this.#overflowed) this.#clear();
      return unit;
    }
    if (this.#aus.length === 0) return au;
    const size = auBytes(au);
    if (this.#bytes + size > this.maxBytes) {
      this.#overflowed = true;
      this.#clear();
      return au;
    }
    this.#aus.push(au);
    this.#bytes += size;
    return au;
  }

  /** The cached GOP, oldest first, starting with an IDR (empty when none is held). */
  snapshot(): H264AccessUnit[] {
    return this.#aus.slice();
  }

  /** Forgets everything (camera reconnected: the next stream may use new parameter sets). */
  reset(): void {
    this.#clear();
    this.#overflowed = false;
    this.#sps = undefined;
    this.#pps = undefined;
  }

  #clear(): void {
    this.#aus = [];
    this.#bytes = 0;
  }
}

/** Bytes of NAL data in an access unit. */
export function auBytes(au: H264AccessUnit): number {
  let n = 0;
  for (const b of au.nalus) n += b.length;
  return n;
}

/** `au` with SPS and PPS in front when it lacks them and they are known (H.264 §7.4.1.2.3 order: SPS, PPS, slices). */
export function withParameterSets(
  au: H264AccessUnit,
  sps: Buffer | undefined,
  pps: Buffer | undefined,
): H264AccessUnit {
  const types = au.nalus.map(nalType);
  const missing: Buffer[] = [];
  if (sps && !types.includes(NAL_TYPE.SPS)) missing.push(sps);
  if (pps && !types.includes(NAL_TYPE.PPS)) missing.push(pps);
  if (missing.length === 0) return au;
  return { nalus: [...missing, ...au.nalus], timestamp: au.timestamp, keyframe: au.keyframe };
}
