/**
 * A tiny live H.264 encoder for the simulated camera, written from ITU-T
 * H.264 (08/2021) without FFmpeg.
 *
 * Constrained Baseline, CAVLC, one slice per picture:
 * - IDR pictures code every macroblock as I_PCM (I-slice mb_type 25, §7.3.5,
 *   Table 7-11): lossless, trivial, and as large as a real keyframe
 *   (~1.4 MB at 720p).
 * - P pictures skip every macroblock that did not change (mb_skip_run,
 *   §7.3.4; P_Skip with a zero motion vector copies the reference exactly,
 *   §8.4.1.1, because every neighbouring vector is zero) and code each changed
 *   one as I_PCM inside the P slice (mb_type 5 + 25 = 30, Table 7-13).
 * The loop filter is disabled in every slice (disable_deblocking_filter_idc
 * 1, §7.4.3) so the decoded picture is bit-exact with what we drew.
 *
 * Only the macroblocks under the text box and the sliding block are redrawn
 * and compared each frame; the background is drawn once.
 */
import { BitWriter, makeNalUnit, NAL_UNIT_TYPE } from '@camgate/core/rtsp-wire';
import {
  LOG2_MAX_FRAME_NUM,
  buildPps,
  buildSps,
  makeGeometry,
  profileLevelId,
  type StreamGeometry,
} from './h264-params.js';
import { MbPicture } from './mb-picture.js';
import {
  blockRect,
  drawBackground,
  drawOverlays,
  drawTextBox,
  makeLayout,
  type PatternLayout,
  type Rect,
} from './test-pattern.js';

/** I-slice mb_type of I_PCM (Table 7-11). */
const MB_TYPE_I_PCM = 25;
/** P-slice mb_type of I_PCM: intra types follow the five P types (Table 7-13, §7.4.5). */
const MB_TYPE_P_I_PCM = 5 + MB_TYPE_I_PCM;
/** slice_type 7/5: I/P, and every slice of the picture has the same type (Table 7-6). */
const SLICE_TYPE_I_ALL = 7;
const SLICE_TYPE_P_ALL = 5;
const MAX_FRAME_NUM = 2 ** LOG2_MAX_FRAME_NUM;

export interface H264TestPatternEncoderOptions {
  /** Picture width in pixels, even, 32..4096. */
  width?: number;
  /** Picture height in pixels, even, 32..2304. */
  height?: number;
  /** Frames per second, integer 1..60 (written to the VUI timing info). */
  fps?: number;
  /** Pictures from one IDR to the next, integer >= 1. */
  gopFrames?: number;
  /** Wall clock shown in the picture, milliseconds since the epoch (tests pin it). */
  clock?: () => number;
}

export const DEFAULT_H264_TEST_PATTERN_ENCODER_OPTIONS = {
  width: 1280, // pixels
  height: 720, // pixels
  fps: 25, // frames per second
  gopFrames: 100, // frames: 4 s at 25 fps, like a typical IP camera
} as const;

/** One coded picture. */
export interface EncodedPicture {
  /** The frame number drawn in the picture's counter. */
  frameNumber: number;
  /** True for an IDR picture. */
  keyframe: boolean;
  /** The slice NAL unit(s), without start codes and without parameter sets. */
  nalus: Buffer[];
  /** Macroblocks coded as I_PCM in this picture (all of them for an IDR). */
  codedMacroblocks: number;
}

function intOption(name: string, value: unknown, min: number, max: number, even = false): number {
  if (typeof value !== 'number') throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isInteger(value) || value < min || value > max || (even && value % 2 !== 0)) {
    const what = `${even ? 'an even' : 'an'} integer ${min}..${max}`;
    throw new RangeError(`${name} must be ${what}, got ${value}`);
  }
  return value;
}

/** Encodes the live test pattern; one instance feeds every viewer of a simulated camera. */
export class H264TestPatternEncoder {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly gopFrames: number;
  readonly levelIdc: number;
  /** RFC 6184 §8.1 `profile-level-id`, e.g. `42e01f` for 720p25. */
  readonly profileLevelId: string;
  /** SPS and PPS NAL units, without start codes. */
  readonly sps: Buffer;
  readonly pps: Buffer;
  readonly #geometry: StreamGeometry;
  readonly #layout: PatternLayout;
  readonly #clock: () => number;
  readonly #background: MbPicture;
  readonly #picture: MbPicture;
  readonly #scratch: Buffer;
  readonly #textMbs: number[];
  #frameNumber = -1;
  #lastBlock: Rect | undefined;
  #frameNum = 0;
  #idrPicId = 0;
  #forceKeyframe = true;
  #flashing = false;

  constructor(opts: H264TestPatternEncoderOptions = {}) {
    if (opts === null || typeof opts !== 'object')
      throw new TypeError('H264TestPatternEncoder: options must be an object');
    const d = DEFAULT_H264_TEST_PATTERN_ENCODER_OPTIONS;
    this.width = intOption('width', opts.width ?? d.width, 32, 4096, true);
    this.height = intOption('height', opts.height ?? d.height, 32, 2304, true);
    this.fps = intOption('fps', opts.fps ?? d.fps, 1, 60);
    this.gopFrames = intOption('gopFrames', opts.gopFrames ?? d.gopFrames, 1, 100_000);
    if (opts.clock !== undefined && typeof opts.clock !== 'function') {
      throw new TypeError(`clock must be a function returning epoch milliseconds, got ${typeof opts.clock}`);
    }
    this.#clock = opts.clock ?? Date.now;
    this.#geometry = makeGeometry(this.width, this.height, this.fps);
    this.levelIdc = this.#geometry.levelIdc;
    this.profileLevelId = profileLevelId(this.levelIdc);
    this.sps = buildSps(this.#geometry);
    this.pps = buildPps();
    this.#layout = makeLayout(this.width, this.height);
    this.#background = new MbPicture(this.#geometry.widthMbs, this.#geometry.heightMbs);
    drawBackground(this.#background, this.width, this.height);
    drawTextBox(this.#background, this.#layout);
    this.#picture = new MbPicture(this.#geometry.widthMbs, this.#geometry.heightMbs);
    this.#background.data.copy(this.#picture.data);
    this.#scratch = Buffer.alloc(this.#picture.data.length);
    this.#textMbs = this.#mbsOf(this.#layout.box);
  }

  /** RFC 6184 §8.2.1 `sprop-parameter-sets`: base64 SPS and PPS, comma-separated. */
  get spropParameterSets(): string {
    return `${this.sps.toString('base64')},${this.pps.toString('base64')}`;
  }

  /** Width and height in macroblocks. */
  get macroblocks(): { width: number; height: number } {
    return { width: this.#geometry.widthMbs, height: this.#geometry.heightMbs };
  }

  /** The number of the last encoded frame (-1 before the first). */
  get frameNumber(): number {
    return this.#frameNumber;
  }

  /** The current picture, for tests (luma at a pixel). */
  lumaAt(x: number, y: number): number {
    return this.#picture.lumaAt(x, y);
  }

  /** Makes the next picture an IDR (a client asked for one, or the stream restarted). */
  forceKeyframe(): void {
    this.#forceKeyframe = true;
  }

  /**
   * Encodes frame `frameNumber` (default: the next one). Numbers may jump
   * forward — the simulator skips frames it was too late for, as a camera's
   * clock keeps running — and a jump across a GOP boundary still yields an IDR.
   * `flash` paints the whole picture white (Y 235), a sync mark a viewer can
   * find by its mean luma; the next picture without it is the pattern again.
   */
  encode(frameNumber = this.#frameNumber + 1, flash = false): EncodedPicture {
    if (!Number.isSafeInteger(frameNumber) || frameNumber <= this.#frameNumber) {
      throw new RangeError(`frameNumber must be an integer greater than ${this.#frameNumber}, got ${frameNumber}`);
    }
    const prev = this.#frameNumber;
    const keyframe =
      this.#forceKeyframe || prev < 0 || Math.floor(frameNumber / this.gopFrames) !== Math.floor(prev / this.gopFrames);
    this.#frameNumber = frameNumber;
    this.#forceKeyframe = false;
    const changed = flash || this.#flashing ? this.#redrawAll(frameNumber, flash) : this.#redraw(frameNumber);
    const slice = keyframe ? this.#idrSlice() : this.#pSlice(changed);
    return {
      frameNumber,
      keyframe,
      nalus: [slice],
      codedMacroblocks: keyframe ? this.#picture.mbCount : changed.length,
    };
  }

  /** Macroblock indexes covering `r` (clipped to the picture). */
  #mbsOf(r: Rect): number[] {
    const { widthMbs, heightMbs } = this.#geometry;
    const x0 = Math.max(0, Math.floor(r.x / 16));
    const y0 = Math.max(0, Math.floor(r.y / 16));
    const x1 = Math.min(widthMbs - 1, Math.floor((r.x + r.w - 1) / 16));
    const y1 = Math.min(heightMbs - 1, Math.floor((r.y + r.h - 1) / 16));
    const out: number[] = [];
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) out.push(y * widthMbs + x);
    return out;
  }

  /** Redraws the overlay macroblocks for frame `n`; returns the ones whose samples changed, ascending. */
  #redraw(n: number): number[] {
    const block = blockRect(this.#layout, n);
    const dirty = new Set<number>(this.#textMbs);
    for (const mb of this.#mbsOf(block)) dirty.add(mb);
    if (this.#lastBlock) for (const mb of this.#mbsOf(this.#lastBlock)) dirty.add(mb);
    this.#lastBlock = block;
    const pic = this.#picture;
    for (const mb of dirty) {
      pic.data.copy(this.#scratch, mb * 384, mb * 384, (mb + 1) * 384);
      pic.copyMacroblockFrom(this.#background, mb);
    }
    drawOverlays(pic, this.#layout, n, this.#clock());
    const changed: number[] = [];
    for (const mb of dirty) {
      const o = mb * 384;
      if (this.#scratch.compare(pic.data, o, o + 384, o, o + 384) !== 0) changed.push(mb);
    }
    return changed.sort((a, b) => a - b);
  }

  /** Redraws the whole picture (into or out of a flash); returns every macroblock whose samples changed. */
  #redrawAll(n: number, flash: boolean): number[] {
    const pic = this.#picture;
    pic.data.copy(this.#scratch);
    if (flash)
      pic.fillRect(0, 0, pic.widthMbs * 16, pic.heightMbs * 16, 235, 128, 128); // BT.601 white
    else {
      this.#background.data.copy(pic.data);
      drawOverlays(pic, this.#layout, n, this.#clock());
    }
    this.#flashing = flash;
    this.#lastBlock = blockRect(this.#layout, n);
    const changed: number[] = [];
    for (let mb = 0; mb < pic.mbCount; mb++) {
      const o = mb * 384;
      if (this.#scratch.compare(pic.data, o, o + 384, o, o + 384) !== 0) changed.push(mb);
    }
    return changed;
  }

  /** slice_header() (§7.3.3) for our single-slice pictures. */
  #sliceHeader(w: BitWriter, idr: boolean): void {
    w.writeUE(0); // first_mb_in_slice
    w.writeUE(idr ? SLICE_TYPE_I_ALL : SLICE_TYPE_P_ALL);
    w.writeUE(0); // pic_parameter_set_id
    w.writeBits(this.#frameNum, LOG2_MAX_FRAME_NUM); // frame_num, 0 for IDR (§7.4.3)
    if (idr) w.writeUE(this.#idrPicId); // idr_pic_id: consecutive IDRs differ (§7.4.3)
    // pic_order_cnt_type 2: no POC fields. No redundant_pic_cnt, no direct_spatial_mv_pred (not B).
    if (!idr) {
      w.writeBit(0); // num_ref_idx_active_override_flag: one reference, from the PPS
      w.writeBit(0); // ref_pic_list_modification_flag_l0 (§7.3.3.1)
    }
    // dec_ref_pic_marking() (§7.3.3.3), nal_ref_idc != 0
    if (idr) {
      w.writeBit(0); // no_output_of_prior_pics_flag
      w.writeBit(0); // long_term_reference_flag
    } else {
      w.writeBit(0); // adaptive_ref_pic_marking_mode_flag: sliding window keeps the last picture
    }
    w.writeSE(0); // slice_qp_delta
    w.writeUE(1); // disable_deblocking_filter_idc 1: no loop filter, pictures stay bit-exact
  }

  #idrSlice(): Buffer {
    this.#frameNum = 0;
    const pic = this.#picture;
    const w = new BitWriter(pic.data.length + 2 * pic.mbCount + 64);
    this.#sliceHeader(w, true);
    // slice_data() (§7.3.4) of an I slice: macroblock_layer() for every macroblock, no skip runs.
    for (let mb = 0; mb < pic.mbCount; mb++) this.#pcmMacroblock(w, MB_TYPE_I_PCM, mb);
    w.writeTrailingBits();
    const nal = makeNalUnit(3, NAL_UNIT_TYPE.SLICE_IDR, w.toBuffer());
    this.#idrPicId = (this.#idrPicId + 1) & 0xffff;
    this.#frameNum = 1 % MAX_FRAME_NUM;
    return nal;
  }

  #pSlice(changed: number[]): Buffer {
    const pic = this.#picture;
    const w = new BitWriter(changed.length * 390 + 64);
    this.#sliceHeader(w, false);
    let next = 0;
    for (const mb of changed) {
      w.writeUE(mb - next); // mb_skip_run: P_Skip macroblocks before this one (§7.3.4)
      this.#pcmMacroblock(w, MB_TYPE_P_I_PCM, mb);
      next = mb + 1;
    }
    // Skipped macroblocks up to the end of the picture; then more_rbsp_data() is false.
    if (next < pic.mbCount) w.writeUE(pic.mbCount - next);
    w.writeTrailingBits();
    const nal = makeNalUnit(2, NAL_UNIT_TYPE.SLICE_NON_IDR, w.toBuffer());
    this.#frameNum = (this.#frameNum + 1) % MAX_FRAME_NUM; // §7.4.3: +1 after each reference picture
    return nal;
  }

  /** macroblock_layer() of an I_PCM macroblock (§7.3.5): mb_type, pcm_alignment_zero_bits, 384 samples. */
  #pcmMacroblock(w: BitWriter, mbType: number, mb: number): void {
    w.writeUE(mbType);
    w.alignZero();
    w.writeBytes(this.#picture.macroblock(mb));
  }
}
