/**
 * Plays an H.264 stream with B-frames in a browser without transcoding, at a
 * reduced frame rate: Chromium's WebRTC H.264 decoder expects one picture out
 * per picture in, in order, and a stream that reorders pictures (B-frames)
 * stalls it (nearly frozen video, keyframe requests).
 *
 * So the frames nothing refers to are dropped: nal_ref_idc == 0 (H.264
 * §7.4.1), which are the B-frames of a camera with B-frames and no B-pyramid
 * (x264 `bframes=2`, most cameras). If a B-frame is a reference (B-pyramid),
 * every B-frame is dropped from then on and only I and P frames remain. What
 * is left is in decoding order = presentation order, so its RTP timestamps
 * (presentation times, RFC 6184 §5.1) increase; the SPS is rewritten to say
 * max_num_reorder_frames = 0 so the decoder outputs each frame at once
 * instead of waiting for reordering that no longer happens.
 */
import { NAL_TYPE, nalRefIdc, nalType, sliceType, SLICE_TYPE, spsWithoutReordering } from '../../rtsp/index.js';
import type { H264AccessUnit } from '../../rtsp/index.js';

export class NonReferenceFilter {
  /** A B-frame was a reference picture: drop every B-frame, not only the non-reference ones. */
  #referenceB = false;
  /** The last timestamp forwarded: what passes must not go back in time. */
  #lastTimestamp: number | undefined;
  /** Rewritten SPS per camera SPS buffer: RtspClient reuses the same buffer for every keyframe. */
  readonly #sps = new WeakMap<Buffer, Buffer>();
  readonly stats = { passed: 0, dropped: 0 };

  /** True once reference B-frames were seen (only I and P frames pass). */
  get referenceBFrames(): boolean {
    return this.#referenceB;
  }

  /** The unit to forward (SPS rewritten), or undefined when it is dropped. */
  filter(au: H264AccessUnit): H264AccessUnit | undefined {
    const slice = au.nalus.find((n) => {
      const t = nalType(n);
      return t === NAL_TYPE.NON_IDR || t === NAL_TYPE.IDR;
    });
    if (slice && !au.keyframe) {
      // All slices of a picture share nal_ref_idc (§7.4.1) and, for a B-frame from a camera, the slice type.
      const isB = sliceType(slice) === SLICE_TYPE.B;
      const nonReference = nalRefIdc(slice) === 0;
      if (isB && !nonReference) this.#referenceB = true;
      if (nonReference || (isB && this.#referenceB)) {
        this.stats.dropped++;
        return undefined;
      }
    }
    // Decoding order is presentation order now; a timestamp going back means the camera reordered
    // something we let through: drop it rather than make the browser reorder.
    if (this.#lastTimestamp !== undefined && !au.keyframe && ((au.timestamp - this.#lastTimestamp) | 0) <= 0) {
      this.stats.dropped++;
      return undefined;
    }
    this.#lastTimestamp = au.timestamp;
    this.stats.passed++;
    if (!au.nalus.some((n) => nalType(n) === NAL_TYPE.SPS)) return au;
    return { ...au, nalus: au.nalus.map((n) => (nalType(n) === NAL_TYPE.SPS ? this.#rewrite(n) : n)) };
  }

  /** Forgets the stream (a new one starts). */
  reset(): void {
    this.#referenceB = false;
    this.#lastTimestamp = undefined;
  }

  #rewrite(sps: Buffer): Buffer {
    let out = this.#sps.get(sps);
    if (!out) {
      out = spsWithoutReordering(sps) ?? sps; // unreadable: forward as it is
      this.#sps.set(sps, out);
    }
    return out;
  }
}
