/**
 * Annex B byte streams (ITU-T H.264 Annex B, H.265 Annex B): what FFmpeg
 * reads on stdin and writes on stdout in the transcoder. NAL units are
 * separated by start codes `00 00 01` (or `00 00 00 01`); RTP carries them
 * without (RFC 6184 §5.1), as our access units do.
 */
import { NAL_TYPE, nalType } from '../../rtsp/index.js';

const START_CODE = Buffer.from([0, 0, 0, 1]);

/** One access unit as an Annex B byte string (four-byte start codes, H.264 §B.1.2 zero_byte for the first). */
export function toAnnexB(nalus: readonly Buffer[]): Buffer {
  const parts: Buffer[] = [];
  for (const n of nalus) {
    if (n.length === 0) continue;
    parts.push(START_CODE, n);
  }
  return Buffer.concat(parts);
}

/**
 * Splits a byte stream into NAL units as it arrives. A unit is complete when
 * the next start code is seen, so the last unit of a chunk waits for the next
 * chunk (or `flush()`). Trailing zero bytes before a start code belong to the
 * start code (Annex B.2: trailing_zero_8bits), not to the unit. Units larger
 * than `maxNaluBytes` are dropped and counted: the stream comes from a child
 * process, and memory must stay bounded whatever it writes.
 */
export class AnnexBSplitter {
  readonly #maxNaluBytes: number;
  #pending: Buffer = Buffer.alloc(0);
  /** Skipping an oversized unit until the next start code. */
  #skipping = false;
  #started = false;
  oversized = 0;

  constructor(maxNaluBytes: number) {
    this.#maxNaluBytes = maxNaluBytes;
  }

  /** Feeds bytes; returns the NAL units (without start codes) completed by them. */
  push(chunk: Buffer): Buffer[] {
    const held = this.#pending.length;
    const buf = held > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const out: Buffer[] = [];
    // Where the unit in progress begins in `buf`; -1 before the first start code (leading bytes are discarded).
    let from = this.#started ? 0 : -1;
    let search = Math.max(0, held - 2); // what was held has no start code but may end with the start of one
    for (;;) {
      const sc = this.#findStart(buf, search);
      if (sc < 0) break;
      if (from >= 0 && !this.#skipping) {
        let end = sc;
        while (end > from && buf[end - 1] === 0) end--; // trailing_zero_8bits, and the zero of a 4-byte start code
        if (end > from) out.push(Buffer.from(buf.subarray(from, end)));
      }
      this.#started = true;
      this.#skipping = false;
      from = sc + 3;
      search = from;
    }
    if (from < 0) {
      this.#pending = Buffer.from(buf.subarray(Math.max(0, buf.length - 2)));
      return out;
    }
    const rest = buf.subarray(from);
    if (this.#skipping || rest.length > this.#maxNaluBytes) {
      if (!this.#skipping) this.oversized++;
      this.#skipping = true;
      // Keep the last bytes only: they may be the beginning of the next start code.
      this.#pending = Buffer.from(rest.subarray(Math.max(0, rest.length - 2)));
      return out;
    }
    this.#pending = Buffer.from(rest);
    return out;
  }

  /** The unit in progress, when the stream ended. */
  flush(): Buffer[] {
    const rest = this.#pending;
    this.#pending = Buffer.alloc(0);
    if (!this.#started || this.#skipping || rest.length === 0) return [];
    return [Buffer.from(rest)];
  }

  /** Index of the next `00 00 01` at or after `from`; -1 when none. */
  #findStart(buf: Buffer, from: number): number {
    for (let i = buf.indexOf(0, from); i >= 0 && i + 2 < buf.length; i = buf.indexOf(0, i + 1)) {
      if (buf[i + 1] === 0 && buf[i + 2] === 1) return i;
    }
    return -1;
  }
}

/**
 * Groups H.264 NAL units (decoding order) into access units (H.264 §7.4.1.2.3):
 * a new one begins at an AUD, SEI, SPS or PPS that follows a slice, or at a
 * slice whose first_mb_in_slice is 0 (its first RBSP bit is 1: ue(v) = 0).
 * A unit is complete only when the next begins.
 */
export class H264AccessUnitAssembler {
  #nalus: Buffer[] = [];
  #hasSlice = false;

  /** Adds one unit; returns the access unit it completed, if any. */
  push(nalu: Buffer): Buffer[] | undefined {
    const t = nalType(nalu);
    const slice = t === NAL_TYPE.NON_IDR || t === NAL_TYPE.IDR;
    const startsNew = this.#hasSlice && (slice ? nalu.length > 1 && (nalu[1]! & 0x80) !== 0 : isPrefix(t));
    let done: Buffer[] | undefined;
    if (startsNew) {
      done = this.#nalus;
      this.#nalus = [];
      this.#hasSlice = false;
    }
    this.#nalus.push(nalu);
    if (slice) this.#hasSlice = true;
    return done;
  }

  /** The last unit, at the end of the stream. */
  flush(): Buffer[] | undefined {
    const done = this.#hasSlice ? this.#nalus : undefined;
    this.#nalus = [];
    this.#hasSlice = false;
    return done;
  }
}

/** NAL types that open an access unit (§7.4.1.2.3): AUD, SEI, SPS, PPS and 14..18. */
function isPrefix(t: number): boolean {
  return t === NAL_TYPE.AUD || t === NAL_TYPE.SEI || t === NAL_TYPE.SPS || t === NAL_TYPE.PPS || (t >= 14 && t <= 18);
}

/** True when the unit holds an IDR slice. */
export function hasIdr(nalus: readonly Buffer[]): boolean {
  return nalus.some((n) => nalType(n) === NAL_TYPE.IDR);
}
