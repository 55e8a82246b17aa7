/**
 * Just enough H.264 bitstream reading (ITU-T H.264) to tell what a camera
 * sends and whether a browser can play it as it is: the sequence parameter
 * set (§7.3.2.1.1 with VUI, Annex E.1.1) for profile, resolution, frame rate
 * and picture reordering; the first fields of a slice header (§7.3.3) for the
 * slice type; and an SPS rewrite that declares "no reordering" once the
 * frames that needed it are dropped (bframe-filter.ts).
 *
 * All input comes from the camera: every read is bounds-checked and a short
 * or malformed unit gives `undefined`, never an exception.
 */
import { BitWriter } from './bit-writer.js';
import { addEmulationPrevention, removeEmulationPrevention } from './nal-unit.js';

/** MSB-first reader over an RBSP; reading past the end throws RangeError (caught by the callers below). */
export class BitReader {
  readonly #buf: Buffer;
  #pos = 0;

  constructor(rbsp: Buffer) {
    this.#buf = rbsp;
  }

  /** Bits read so far. */
  get position(): number {
    return this.#pos;
  }

  get bitsLeft(): number {
    return this.#buf.length * 8 - this.#pos;
  }

  u(n: number): number {
    if (n > this.bitsLeft) throw new RangeError('H.264 bitstream: read past the end');
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.#buf[this.#pos >> 3]!;
      v = v * 2 + ((byte >> (7 - (this.#pos & 7))) & 1);
      this.#pos++;
    }
    return v;
  }

  /** ue(v), §9.1; at most 31 leading zeros (larger values do not occur in the syntax we read). */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw new RangeError('H.264 bitstream: Exp-Golomb code too long');
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v), §9.1.1. */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** What an SPS says that matters for playing the stream in a browser. */
export interface H264SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  width: number;
  height: number;
  /** From VUI timing_info (time_scale / 2·num_units_in_tick, Annex E.2.1); undefined when absent. */
  fps?: number;
  picOrderCntType: number;
  maxNumRefFrames: number;
  /** VUI bitstream_restriction max_num_reorder_frames; undefined when the SPS does not say. */
  maxNumReorderFrames?: number;
  /**
   * False when the SPS rules out B-frames / reordering: Baseline and Constrained Baseline profiles (§A.2.1),
   * POC type 2 (output order = decoding order, §8.2.1.3), or max_num_reorder_frames = 0.
   */
  mayReorder: boolean;
}

/** Profiles whose SPS carries chroma_format_idc and the other high-profile fields (§7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Where the fields the rewrite needs sit, in bits of the RBSP. */
interface SpsLayout {
  info: H264SpsInfo;
  /** Position of vui_parameters_present_flag. */
  vuiFlagPos: number;
  /** Position of bitstream_restriction_flag (when the VUI is present). */
  restrictionFlagPos?: number;
  restriction?: { mvOverBoundaries: number; maxBytesDenom: number; maxBitsDenom: number; mvH: number; mvV: number };
  maxDecFrameBuffering?: number;
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

function skipHrd(r: BitReader): void {
  // Annex E.1.2 hrd_parameters()
  const cpbCnt = r.ue() + 1;
  if (cpbCnt > 32) throw new RangeError('H.264 SPS: cpb_cnt_minus1 > 31');
  r.u(8); // bit_rate_scale, cpb_size_scale
  for (let i = 0; i < cpbCnt; i++) {
    r.ue();
    r.ue();
    r.u(1);
  }
  r.u(20); // four 5-bit delay lengths
}

function readSps(nalu: Buffer): SpsLayout | undefined {
  if (nalu.length < 4 || (nalu[0]! & 0x1f) !== 7) return undefined;
  const r = new BitReader(removeEmulationPrevention(nalu.subarray(1)));
  try {
    const profileIdc = r.u(8);
    const constraintFlags = r.u(8);
    const levelIdc = r.u(8);
    r.ue(); // seq_parameter_set_id
    let chromaFormatIdc = 1;
    let separateColourPlane = 0;
    if (HIGH_PROFILES.has(profileIdc)) {
      chromaFormatIdc = r.ue();
      if (chromaFormatIdc > 3) return undefined;
      if (chromaFormatIdc === 3) separateColourPlane = r.u(1);
      r.ue(); // bit_depth_luma_minus8
      r.ue(); // bit_depth_chroma_minus8
      r.u(1); // qpprime_y_zero_transform_bypass_flag
      if (r.u(1)) {
        for (let i = 0; i < (chromaFormatIdc !== 3 ? 8 : 12); i++) {
          if (r.u(1)) skipScalingList(r, i < 6 ? 16 : 64);
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const picOrderCntType = r.ue();
    if (picOrderCntType === 0) {
      r.ue(); // log2_max_pic_order_cnt_lsb_minus4
    } else if (picOrderCntType === 1) {
      r.u(1);
      r.se();
      r.se();
      const n = r.ue();
      if (n > 255) return undefined;
      for (let i = 0; i < n; i++) r.se();
    } else if (picOrderCntType !== 2) {
      return undefined;
    }
    const maxNumRefFrames = r.ue();
    r.u(1); // gaps_in_frame_num_value_allowed_flag
    const widthMbs = r.ue() + 1;
    const heightMapUnits = r.ue() + 1;
    const frameMbsOnly = r.u(1);
    if (!frameMbsOnly) r.u(1); // mb_adaptive_frame_field_flag
    r.u(1); // direct_8x8_inference_flag
    let crop = [0, 0, 0, 0];
    if (r.u(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    // §7.4.2.1.1: crop units depend on the chroma format and on field coding.
    const chroma = separateColourPlane ? 0 : chromaFormatIdc;
    const cropX = chroma === 1 || chroma === 2 ? 2 : 1;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    const info: H264SpsInfo = {
      profileIdc,
      constraintFlags,
      levelIdc,
      width: widthMbs * 16 - cropX * (crop[0]! + crop[1]!),
      height: heightMapUnits * 16 * (2 - frameMbsOnly) - cropY * (crop[2]! + crop[3]!),
      picOrderCntType,
      maxNumRefFrames,
      mayReorder: true,
    };
    const layout: SpsLayout = { info, vuiFlagPos: r.position };
    if (r.u(1)) readVui(r, layout);
    info.mayReorder = !(profileIdc === 66 || picOrderCntType === 2 || info.maxNumReorderFrames === 0);
    return layout;
  } catch {
    return undefined; // truncated or corrupt
  }
}

function readVui(r: BitReader, layout: SpsLayout): void {
  // Annex E.1.1 vui_parameters()
  if (r.u(1) && r.u(8) === 255) r.u(32); // aspect_ratio_idc 255 = Extended_SAR: sar_width, sar_height
  if (r.u(1)) r.u(1); // overscan
  if (r.u(1)) {
    r.u(4); // video_format, video_full_range_flag
    if (r.u(1)) r.u(24); // colour primaries, transfer, matrix
  }
  if (r.u(1)) {
    r.ue();
    r.ue();
  }
  if (r.u(1)) {
    const numUnitsInTick = r.u(32);
    const timeScale = r.u(32);
    r.u(1); // fixed_frame_rate_flag
    // Annex E.2.1: a frame lasts two ticks (one per field).
    if (numUnitsInTick > 0 && timeScale > 0) {
      const fps = timeScale / (2 * numUnitsInTick);
      if (fps >= 0.1 && fps <= 1000) layout.info.fps = Math.round(fps * 100) / 100;
    }
  }
  const nalHrd = r.u(1);
  if (nalHrd) skipHrd(r);
  const vclHrd = r.u(1);
  if (vclHrd) skipHrd(r);
  if (nalHrd || vclHrd) r.u(1); // low_delay_hrd_flag
  r.u(1); // pic_struct_present_flag
  layout.restrictionFlagPos = r.position;
  if (r.u(1)) {
    layout.restriction = {
      mvOverBoundaries: r.u(1),
      maxBytesDenom: r.ue(),
      maxBitsDenom: r.ue(),
      mvH: r.ue(),
      mvV: r.ue(),
    };
    layout.info.maxNumReorderFrames = r.ue();
    layout.maxDecFrameBuffering = r.ue();
  }
}

/** Parses an SPS NAL unit (with its header byte); undefined when it is not one or cannot be read. */
export function parseH264Sps(nalu: Buffer): H264SpsInfo | undefined {
  return readSps(nalu)?.info;
}

/**
 * The same SPS declaring max_num_reorder_frames = 0 (Annex E.2.1), so that a
 * decoder outputs each frame as soon as it is decoded. Only valid once every
 * frame that was output out of order (the B-frames) is gone. The VUI is added
 * when the SPS has none; fields before bitstream_restriction are copied bit
 * for bit. Returns undefined when the SPS cannot be read.
 */
export function spsWithoutReordering(nalu: Buffer): Buffer | undefined {
  const layout = readSps(nalu);
  if (!layout) return undefined;
  const rbsp = removeEmulationPrevention(nalu.subarray(1));
  const src = new BitReader(rbsp);
  const w = new BitWriter(rbsp.length + 16);
  const copyBits = (n: number): void => {
    for (let left = n; left > 0;) {
      const k = Math.min(24, left);
      w.writeBits(src.u(k), k);
      left -= k;
    }
  };
  if (layout.restrictionFlagPos === undefined) {
    // No VUI: write one with every optional part absent but the restriction.
    copyBits(layout.vuiFlagPos);
    w.writeBit(1); // vui_parameters_present_flag
    for (let i = 0; i < 8; i++) w.writeBit(0); // aspect, overscan, signal type, chroma loc, timing, 2×HRD, pic_struct
  } else {
    copyBits(layout.restrictionFlagPos);
  }
  // Annex E.2.1 defaults when the camera gave none: motion vectors may cross picture boundaries, no byte/bit limits
  // (2 and 1 are the inferred values), 15 bits of motion vector range (log2_max_mv_length inferred as 15).
  const rs = layout.restriction ?? { mvOverBoundaries: 1, maxBytesDenom: 2, maxBitsDenom: 1, mvH: 15, mvV: 15 };
  w.writeBit(1); // bitstream_restriction_flag
  w.writeBit(rs.mvOverBoundaries);
  w.writeUE(rs.maxBytesDenom);
  w.writeUE(rs.maxBitsDenom);
  w.writeUE(rs.mvH);
  w.writeUE(rs.mvV);
  w.writeUE(0); // max_num_reorder_frames
  w.writeUE(Math.max(layout.maxDecFrameBuffering ?? 0, layout.info.maxNumRefFrames)); // ≥ max_num_ref_frames (E.2.1)
  w.writeTrailingBits();
  const body = addEmulationPrevention(w.toBuffer());
  return Buffer.concat([nalu.subarray(0, 1), body]);
}

/** Slice types by `slice_type % 5` (§7.4.3, Table 7-6). */
export const SLICE_TYPE = { P: 0, B: 1, I: 2, SP: 3, SI: 4 } as const;

/**
 * The slice type (0..4, `slice_type % 5`) of a coded slice NAL unit (types 1 and 5), from the
 * first two fields of its header (§7.3.3); -1 for other units or an unreadable header. Reads a
 * few bytes at most: emulation prevention cannot occur in the first two Exp-Golomb codes of a
 * real slice (they are short), and a corrupt one only yields a wrong type, never an exception.
 */
export function sliceType(nalu: Buffer): number {
  const t = nalu.length > 1 ? nalu[0]! & 0x1f : -1;
  if (t !== 1 && t !== 5) return -1;
  const r = new BitReader(nalu.subarray(1, Math.min(nalu.length, 9)));
  try {
    r.ue(); // first_mb_in_slice
    const st = r.ue();
    return st <= 9 ? st % 5 : -1;
  } catch {
    return -1;
  }
}

/** nal_ref_idc (§7.4.1): 0 means no other picture uses this one as a reference. */
export function nalRefIdc(nalu: Buffer): number {
  return nalu.length > 0 ? (nalu[0]! >> 5) & 3 : 0;
}

/** Profile names for log lines (Annex A.2). */
export function h264ProfileName(sps: H264SpsInfo): string {
  const c1 = (sps.constraintFlags & 0x40) !== 0;
  switch (sps.profileIdc) {
    case 66:
      return c1 ? 'Constrained Baseline' : 'Baseline';
    case 77:
      return 'Main';
    case 88:
      return 'Extended';
    case 100:
      return 'High';
    case 110:
      return 'High 10';
    case 122:
      return 'High 4:2:2';
    case 244:
      return 'High 4:4:4';
    default:
      return `profile ${sps.profileIdc}`;
  }
}
