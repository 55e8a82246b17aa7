/**
 * Sequence and picture parameter sets for the test-pattern encoder
 * (ITU-T H.264 §7.3.2.1.1 SPS, §7.3.2.2 PPS, Annex E VUI) and the level
 * choice (Annex A, Table A-1).
 *
 * The stream is Constrained Baseline: profile_idc 66 with constraint_set0/1/2
 * set (A.2.1.1), so `profile-level-id` is 42e0xx as WebRTC peers expect
 * (RFC 6184 §8.1). One SPS and one PPS, both id 0.
 */
import { BitWriter, makeNalUnit, NAL_UNIT_TYPE } from '@camgate/core/rtsp-wire';

/** profile_idc for Baseline (A.2.1). */
export const PROFILE_IDC_BASELINE = 66;
/** constraint_set0|1|2 = 1 (binary 1110 0000): Constrained Baseline, also conforming to Main and Extended decoders. */
export const CONSTRAINT_FLAGS = 0xe0;
/** log2_max_frame_num_minus4 = 4: frame_num counts 0..255 and wraps (§7.4.2.1.1). */
export const LOG2_MAX_FRAME_NUM = 8;

/** Level 3.1, see chooseLevel. */
const MIN_LEVEL_IDC = 31;

interface Level {
  idc: number;
  /** MaxMBPS, macroblocks per second. */
  maxMbps: number;
  /** MaxFS, macroblocks per frame. */
  maxFs: number;
}

/** Table A-1 (level 1b omitted: it needs constraint_set3 tricks and nothing we generate is that small). */
const LEVELS: readonly Level[] = [
  { idc: 10, maxMbps: 1485, maxFs: 99 },
  { idc: 11, maxMbps: 3000, maxFs: 396 },
  { idc: 12, maxMbps: 6000, maxFs: 396 },
  { idc: 13, maxMbps: 11880, maxFs: 396 },
  { idc: 20, maxMbps: 11880, maxFs: 396 },
  { idc: 21, maxMbps: 19800, maxFs: 792 },
  { idc: 22, maxMbps: 20250, maxFs: 1620 },
  { idc: 30, maxMbps: 40500, maxFs: 1620 },
  { idc: 31, maxMbps: 108000, maxFs: 3600 },
  { idc: 32, maxMbps: 216000, maxFs: 5120 },
  { idc: 40, maxMbps: 245760, maxFs: 8192 },
  { idc: 42, maxMbps: 522240, maxFs: 8704 },
  { idc: 50, maxMbps: 589824, maxFs: 22080 },
  { idc: 51, maxMbps: 983040, maxFs: 36864 },
  { idc: 52, maxMbps: 2073600, maxFs: 36864 },
];

/**
 * Level 3.1 or, for pictures too big or fast for it, the lowest level whose
 * frame size and macroblock rate fit (A.3.1 a, b, f: PicWidthInMbs and
 * FrameHeightInMbs each <= sqrt(8 * MaxFS)).
 *
 * Why never below 3.1: the level is only an upper bound, cameras commonly
 * signal 3.x or 4.x even for sub-streams, and 42e01f is the profile-level-id
 * every WebRTC stack offers, so small test pictures negotiate without
 * surprises. Bit-rate limits are deliberately not applied: I_PCM keyframes
 * exceed every level's MaxBR, and decoders (FFmpeg, Chromium, GStreamer) do
 * not enforce it.
 */
export function chooseLevel(widthMbs: number, heightMbs: number, fps: number): number {
  const fs = widthMbs * heightMbs;
  for (const l of LEVELS) {
    if (l.idc < MIN_LEVEL_IDC) continue;
    const side = Math.sqrt(8 * l.maxFs);
    if (fs <= l.maxFs && widthMbs <= side && heightMbs <= side && fs * fps <= l.maxMbps) return l.idc;
  }
  return 52;
}

/** Geometry shared by SPS, slices and the picture buffer. */
export interface StreamGeometry {
  width: number;
  height: number;
  widthMbs: number;
  heightMbs: number;
  fps: number;
  levelIdc: number;
}

export function makeGeometry(width: number, height: number, fps: number): StreamGeometry {
  const widthMbs = Math.ceil(width / 16);
  const heightMbs = Math.ceil(height / 16);
  return { width, height, widthMbs, heightMbs, fps, levelIdc: chooseLevel(widthMbs, heightMbs, fps) };
}

/** SPS NAL unit (§7.3.2.1.1), nal_ref_idc 3 as parameter sets are always "reference" data (§7.4.1). */
export function buildSps(g: StreamGeometry): Buffer {
  const w = new BitWriter(64);
  w.writeBits(PROFILE_IDC_BASELINE, 8);
  w.writeBits(CONSTRAINT_FLAGS, 8); // constraint_set0..5 + reserved_zero_2bits
  w.writeBits(g.levelIdc, 8);
  w.writeUE(0); // seq_parameter_set_id
  // profile 66: no chroma_format_idc etc.; 4:2:0, 8 bits implied (§7.4.2.1.1)
  w.writeUE(LOG2_MAX_FRAME_NUM - 4); // log2_max_frame_num_minus4
  w.writeUE(2); // pic_order_cnt_type 2: output order = decoding order, no POC syntax in slices (§8.2.1.3)
  w.writeUE(1); // max_num_ref_frames: P pictures reference only the previous picture
  w.writeBit(0); // gaps_in_frame_num_value_allowed_flag
  w.writeUE(g.widthMbs - 1); // pic_width_in_mbs_minus1
  w.writeUE(g.heightMbs - 1); // pic_height_in_map_units_minus1
  w.writeBit(1); // frame_mbs_only_flag: progressive frames only
  w.writeBit(1); // direct_8x8_inference_flag (required by Extended, constraint_set2)
  const cropRight = g.widthMbs * 16 - g.width;
  const cropBottom = g.heightMbs * 16 - g.height;
  if (cropRight || cropBottom) {
    // §7.4.2.1.1: for 4:2:0 progressive, CropUnitX = CropUnitY = 2 (hence even dimensions only).
    w.writeBit(1);
    w.writeUE(0); // frame_crop_left_offset
    w.writeUE(cropRight / 2);
    w.writeUE(0); // frame_crop_top_offset
    w.writeUE(cropBottom / 2);
  } else {
    w.writeBit(0);
  }
  w.writeBit(1); // vui_parameters_present_flag
  writeVui(w, g.fps);
  w.writeTrailingBits();
  return makeNalUnit(3, NAL_UNIT_TYPE.SPS, w.toBuffer());
}

/** VUI (Annex E.1.1): timing info and bitstream restrictions, so decoders output each frame at once. */
function writeVui(w: BitWriter, fps: number): void {
  w.writeBit(0); // aspect_ratio_info_present_flag: square pixels by default
  w.writeBit(0); // overscan_info_present_flag
  w.writeBit(0); // video_signal_type_present_flag: limited range BT.601 default; samples stay in 16..235
  w.writeBit(0); // chroma_loc_info_present_flag
  w.writeBit(1); // timing_info_present_flag
  // E.2.1: frame rate = time_scale / (2 * num_units_in_tick) for progressive frames.
  w.writeBits(1, 32); // num_units_in_tick
  w.writeBits(2 * fps, 32); // time_scale
  w.writeBit(1); // fixed_frame_rate_flag
  w.writeBit(0); // nal_hrd_parameters_present_flag
  w.writeBit(0); // vcl_hrd_parameters_present_flag
  w.writeBit(0); // pic_struct_present_flag
  w.writeBit(1); // bitstream_restriction_flag
  w.writeBit(1); // motion_vectors_over_pic_boundaries_flag
  w.writeUE(0); // max_bytes_per_pic_denom: no limit (I_PCM pictures are large)
  w.writeUE(0); // max_bits_per_mb_denom: no limit
  w.writeUE(15); // log2_max_mv_length_horizontal (every motion vector we code is zero)
  w.writeUE(15); // log2_max_mv_length_vertical
  w.writeUE(0); // max_num_reorder_frames: no reordering, output immediately (low latency)
  w.writeUE(1); // max_dec_frame_buffering: one reference picture
}

/** PPS NAL unit (§7.3.2.2). */
export function buildPps(): Buffer {
  const w = new BitWriter(16);
  w.writeUE(0); // pic_parameter_set_id
  w.writeUE(0); // seq_parameter_set_id
  w.writeBit(0); // entropy_coding_mode_flag: CAVLC (Baseline)
  w.writeBit(0); // bottom_field_pic_order_in_frame_present_flag
  w.writeUE(0); // num_slice_groups_minus1: no FMO
  w.writeUE(0); // num_ref_idx_l0_default_active_minus1
  w.writeUE(0); // num_ref_idx_l1_default_active_minus1
  w.writeBit(0); // weighted_pred_flag
  w.writeBits(0, 2); // weighted_bipred_idc
  w.writeSE(0); // pic_init_qp_minus26 (unused: I_PCM has no residual, skipped MBs have none either)
  w.writeSE(0); // pic_init_qs_minus26
  w.writeSE(0); // chroma_qp_index_offset
  w.writeBit(1); // deblocking_filter_control_present_flag: slices switch the loop filter off
  w.writeBit(0); // constrained_intra_pred_flag
  w.writeBit(0); // redundant_pic_cnt_present_flag
  w.writeTrailingBits();
  return makeNalUnit(3, NAL_UNIT_TYPE.PPS, w.toBuffer());
}

/** RFC 6184 §8.1 `profile-level-id`: profile_idc, constraint byte and level_idc as six hex digits. */
export function profileLevelId(levelIdc: number): string {
  return [PROFILE_IDC_BASELINE, CONSTRAINT_FLAGS, levelIdc].map((b) => b.toString(16).padStart(2, '0')).join('');
}
