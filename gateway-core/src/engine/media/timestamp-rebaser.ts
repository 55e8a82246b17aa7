/**
 * Per-viewer RTP timestamp rebasing (RFC 3550 §5.1: timestamps must advance
 * monotonically at the media clock within one SSRC).
 *
 * The camera's clock offsets are kept (frame spacing is reproduced exactly),
 * but each viewer's stream starts at 0 and never jumps backwards: a camera
 * reconnect restarts its clock at a random value, which we hide by advancing
 * by the wall-clock time since the last frame (at least one nominal frame).
 * Keeping RTP time in step with arrival time matters: a viewer's jitter
 * buffer estimates delay from both (RFC 3550 §6.4.1 interarrival jitter), and
 * frames that arrive seconds late with timestamps only 1/30 s later made
 * Chromium decode at half rate for many seconds after a camera came back. Replayed frames (the cached GOP sent to a new
 * viewer or in answer to a keyframe request) are squeezed 1 ms apart so the
 * decoder catches up to live at once instead of replaying seconds of old
 * video at its original pace.
 */

/** 90 kHz ticks per millisecond (RFC 6184 §5.1 fixes H.264's RTP clock at 90 kHz). */
const TICKS_PER_MS = 90;

export interface TimestampRebaserOptions {
  /** Ticks to advance over a discontinuity (camera restart, clock jump). Default 3000 = 1/30 s. */
  discontinuityStep?: number;
  /** Largest forward gap (ticks) still treated as continuous. Default 450 000 = 5 s. */
  maxGap?: number;
  /** Monotonic milliseconds (tests inject a clock). Default `performance.now`. */
  now?: () => number;
}

export class TimestampRebaser {
  readonly #step: number;
  readonly #maxGap: number;
  readonly #now: () => number;
  #lastIn: number | undefined;
  #lastOut = 0;
  #lastAt = 0;

  constructor(opts: TimestampRebaserOptions = {}) {
    this.#step = opts.discontinuityStep ?? 3000;
    this.#maxGap = opts.maxGap ?? 450_000;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** Maps a camera timestamp to this viewer's timeline. */
  map(timestamp: number, replay = false): number {
    const input = timestamp >>> 0;
    const at = this.#now();
    if (this.#lastIn === undefined) {
      this.#lastIn = input;
      this.#lastOut = 0;
      this.#lastAt = at;
      return 0;
    }
    const delta = (input - this.#lastIn) | 0; // signed 32-bit difference, wrap-safe
    let advance: number;
    if (replay) advance = TICKS_PER_MS;
    else if (delta <= 0 || delta > this.#maxGap) {
      advance = Math.max(this.#step, Math.round((at - this.#lastAt) * TICKS_PER_MS));
    } else advance = delta;
    this.#lastAt = at;
    this.#lastIn = input;
    this.#lastOut = (this.#lastOut + advance) >>> 0;
    return this.#lastOut;
  }
}
