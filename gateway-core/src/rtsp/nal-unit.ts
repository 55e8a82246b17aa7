/**
 * NAL unit framing for H.264 writers (the simulated camera's encoder, the SPS rewrite): the one-byte NAL header (ITU-T H.264
 * §7.3.1) and emulation prevention (§7.4.1): inside a NAL unit the byte
 * sequences 00 00 00, 00 00 01, 00 00 02 and 00 00 03 must not occur, so an
 * emulation_prevention_three_byte 0x03 is inserted after every 00 00 that is
 * followed by a byte <= 0x03.
 */

/** NAL unit types the encoder writes (Table 7-1). */
export const NAL_UNIT_TYPE = {
  SLICE_NON_IDR: 1,
  SLICE_IDR: 5,
  SPS: 7,
  PPS: 8,
} as const;

const ZERO_ZERO = Buffer.from([0, 0]);

/**
 * Inserts emulation prevention bytes into an RBSP. Returns the input itself
 * when nothing needs escaping (the common case for I_PCM data, whose samples
 * are >= 16), so large pictures are not copied twice.
 */
export function addEmulationPrevention(rbsp: Buffer): Buffer {
  // Buffer#indexOf is native: scanning a 1.4 MB picture for 00 00 costs well under a millisecond.
  let hit = rbsp.indexOf(ZERO_ZERO);
  const cuts: number[] = [];
  while (hit !== -1 && hit + 2 < rbsp.length) {
    const next = rbsp[hit + 2]!;
    if (next <= 3) {
      cuts.push(hit + 2); // insert 0x03 before this byte
      hit = rbsp.indexOf(ZERO_ZERO, hit + 2);
    } else {
      hit = rbsp.indexOf(ZERO_ZERO, hit + 1);
    }
  }
  // §7.4.1: an RBSP ending in 0x0000 (a cabac_zero_word) gets a final 0x03, or the zeros would read as
  // trailing_zero_8bits of the byte stream (Annex B). Our RBSPs end in rbsp_trailing_bits (a non-zero last
  // byte), so this only guards arbitrary input.
  if (
    rbsp.length >= 2 &&
    rbsp[rbsp.length - 1] === 0 &&
    rbsp[rbsp.length - 2] === 0 &&
    cuts.at(-1) !== rbsp.length - 1
  ) {
    // (when a 03 was already inserted before the last byte, the output ends in 03 00 and needs nothing)
    cuts.push(rbsp.length);
  }
  if (cuts.length === 0) return rbsp;
  const out = Buffer.allocUnsafe(rbsp.length + cuts.length);
  let src = 0;
  let dst = 0;
  for (const cut of cuts) {
    dst += rbsp.copy(out, dst, src, cut);
    out[dst++] = 0x03;
    src = cut;
  }
  rbsp.copy(out, dst, src);
  return out;
}

/** Removes emulation prevention bytes (the inverse, used by tests and by SPS parsing). */
export function removeEmulationPrevention(ebsp: Buffer): Buffer {
  const out = Buffer.allocUnsafe(ebsp.length);
  let zeros = 0;
  let n = 0;
  for (const b of ebsp) {
    if (zeros >= 2 && b === 0x03) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out.subarray(0, n));
}

/** A NAL unit: header byte (forbidden_zero_bit 0, nal_ref_idc, nal_unit_type) + escaped RBSP. */
export function makeNalUnit(nalRefIdc: number, nalUnitType: number, rbsp: Buffer): Buffer {
  const escaped = addEmulationPrevention(rbsp);
  const out = Buffer.allocUnsafe(1 + escaped.length);
  out[0] = ((nalRefIdc & 3) << 5) | (nalUnitType & 0x1f);
  escaped.copy(out, 1);
  return out;
}
