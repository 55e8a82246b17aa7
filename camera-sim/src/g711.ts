/**
 * ITU-T G.711 (11/88) A-law and μ-law companding, written from the
 * Recommendation's segment tables: 16-bit linear PCM in, one octet per sample
 * out (and back). A-law works on the 13 most significant bits (§2, Table 1a),
 * μ-law on 14 bits with a bias of 33 (Table 2a); the even bits of A-law and
 * all bits of μ-law are inverted on the line, as the Recommendation requires.
 * The one G.711 of the repository: the tests of the other packages use it through the package face
 * (`g711Encode`, `g711Decode`) rather than keep copies (the core's engine has none: FFmpeg does its G.711).
 */

export type G711Law = 'PCMA' | 'PCMU';

/** Upper ends of the eight A-law segments, in 13-bit magnitudes. */
const ALAW_SEG_END = [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff];
/** Upper ends of the eight μ-law segments, in biased 14-bit magnitudes. */
const ULAW_SEG_END = [0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff, 0x1fff];
const ULAW_BIAS = 0x84; // 33 in 14-bit units, shifted to 16-bit (Table 2a)
const ULAW_CLIP = 8159; // largest 14-bit magnitude before bias

function segment(v: number, ends: readonly number[]): number {
  for (let i = 0; i < ends.length; i++) if (v <= ends[i]!) return i;
  return ends.length;
}

/** One 16-bit linear sample to an A-law octet. */
export function linearToAlaw(sample: number): number {
  let v = sample >> 3; // 13-bit
  let mask: number;
  if (v >= 0)
    mask = 0xd5; // sign bit set for positive values, even bits inverted
  else {
    mask = 0x55;
    v = -v - 1;
  }
  const seg = segment(v, ALAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  const mantissa = seg < 2 ? (v >> 1) & 0x0f : (v >> seg) & 0x0f;
  return ((seg << 4) | mantissa) ^ mask;
}

/** One A-law octet to a 16-bit linear sample (the decision value at the middle of its interval). */
export function alawToLinear(octet: number): number {
  const a = octet ^ 0x55;
  let t = (a & 0x0f) << 4;
  const seg = (a & 0x70) >> 4;
  if (seg === 0) t += 8;
  else t = (t + 0x108) << (seg - 1);
  return a & 0x80 ? t : -t;
}

/** One 16-bit linear sample to a μ-law octet. */
export function linearToUlaw(sample: number): number {
  // 14-bit magnitude; negative values in one's complement, as ITU-T G.191's reference ulaw_compress does.
  let v = sample < 0 ? ~sample >> 2 : sample >> 2;
  const mask = sample < 0 ? 0x7f : 0xff;
  if (v > ULAW_CLIP) v = ULAW_CLIP;
  v += ULAW_BIAS >> 2;
  const seg = segment(v, ULAW_SEG_END);
  if (seg >= 8) return 0x7f ^ mask;
  return ((seg << 4) | ((v >> (seg + 1)) & 0x0f)) ^ mask;
}

/** One μ-law octet to a 16-bit linear sample. */
export function ulawToLinear(octet: number): number {
  const u = ~octet & 0xff;
  const t = (((u & 0x0f) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? ULAW_BIAS - t : t - ULAW_BIAS;
}

const DECODE_TABLES: Record<G711Law, Int16Array> = {
  PCMA: Int16Array.from({ length: 256 }, (_, i) => alawToLinear(i)),
  PCMU: Int16Array.from({ length: 256 }, (_, i) => ulawToLinear(i)),
};

/** Encodes 16-bit samples, one octet each. */
export function g711Encode(law: G711Law, pcm: Int16Array): Buffer {
  const out = Buffer.allocUnsafe(pcm.length);
  const enc = law === 'PCMA' ? linearToAlaw : linearToUlaw;
  for (let i = 0; i < pcm.length; i++) out[i] = enc(pcm[i]!);
  return out;
}

/** Decodes octets to 16-bit samples, writing at `into[offset…]` (default: a new array). */
export function g711Decode(law: G711Law, octets: Uint8Array, into?: Int16Array, offset = 0): Int16Array {
  const table = DECODE_TABLES[law];
  const out = into ?? new Int16Array(octets.length);
  for (let i = 0; i < octets.length; i++) out[offset + i] = table[octets[i]!]!;
  return out;
}
