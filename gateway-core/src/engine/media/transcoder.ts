/**
 * One FFmpeg child process that turns a camera's video into H.264 a browser
 * plays in real time: Constrained Baseline (no B-frames, so no reordering,
 * which Chromium's WebRTC decoder does not take), same resolution and frame
 * rate, a keyframe every ~2 s, SPS/PPS in-band before each IDR.
 *
 * Security: FFmpeg is started with `spawn` and an argument array (no shell),
 * and it never sees the camera URL or its credentials: it reads the Annex B
 * elementary stream we already pulled on stdin and writes Annex B H.264 on
 * stdout. Memory stays bounded: when FFmpeg falls behind (stdin backlog over
 * `maxPendingBytes`) input is dropped up to the next keyframe instead of
 * queued, and stdout is split with a cap per NAL unit.
 *
 * Timing: FFmpeg's raw H.264 output has no timestamps. Each output frame
 * takes the smallest input timestamp not yet used: the decoder outputs
 * frames in presentation order, and RTP timestamps of H.264/H.265 are
 * presentation times (RFC 6184 §5.1, RFC 7798 §4.1), so this restores the
 * camera's own timing — including for B-frame input, whose timestamps arrive
 * out of order.
 */
import { EventEmitter } from 'node:events';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { H264AccessUnit } from '../../rtsp/index.js';
import type { Logger } from '../../util/index.js';
import { AnnexBSplitter, H264AccessUnitAssembler, hasIdr, toAnnexB } from './annexb.js';
import { FfmpegChild } from './ffmpeg-child.js';

export interface TranscoderOptions {
  /** The FFmpeg executable (see findFfmpeg). */
  ffmpegPath: string;
  /** What the camera sends. */
  inputCodec: 'H264' | 'H265';
  /** The camera's frame rate, frames/s (SPS VUI or RTP timestamps); sets the keyframe interval. */
  fps?: number;
  logger: Logger;
  /** Bytes written to FFmpeg and not yet read by it, at most; more drops input up to the next keyframe. */
  maxPendingBytes?: number;
  /** Largest NAL unit read back from FFmpeg, bytes. */
  maxOutputNaluBytes?: number;
  /** Restart delay after FFmpeg exits on its own: starts at `initialMs`, doubles, capped at `maxMs`. */
  restart?: { initialMs?: number; maxMs?: number };
}

export const DEFAULT_TRANSCODER_OPTIONS = {
  fps: 25, // frames/s when the camera does not say
  maxPendingBytes: 8 * 1024 * 1024, // 8 MiB: a few seconds of 1080p at 8 Mbit/s
  maxOutputNaluBytes: 8 * 1024 * 1024, // 8 MiB: a 4K IDR from x264 is ~1-2 MiB
  restart: { initialMs: 1_000, maxMs: 30_000 }, // 1 s doubling up to 30 s
  keyframeIntervalS: 2, // seconds between IDRs: a viewer who joins waits at most this long (GOP cache aside)
} as const;

export interface TranscoderEvents {
  /** One H.264 access unit, in decoding = presentation order, with the camera's timestamp. */
  accessUnit: [au: H264AccessUnit];
  /** FFmpeg exited on its own; it is restarted after `delayMs`. `detail` is FFmpeg's last error line (no secrets: it never saw the URL). */
  restarting: [delayMs: number, detail: string];
}

/** Timestamps waiting for their output frame, at most (more means FFmpeg dropped frames: forget the oldest). */
const MAX_PENDING_TIMESTAMPS = 256;

let ffmpegLookup: string | null | undefined;

/**
 * The `ffmpeg` executable on PATH, or undefined: looked up once per process
 * (a few stat calls), then cached. `CAMGATE_FFMPEG` names another executable.
 */
export function findFfmpeg(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (ffmpegLookup !== undefined) return ffmpegLookup ?? undefined;
  const candidates = env.CAMGATE_FFMPEG
    ? [env.CAMGATE_FFMPEG]
    : (env.PATH ?? '')
        .split(delimiter)
        .filter((d) => d.startsWith('/'))
        .map((d) => join(d, 'ffmpeg'));
  ffmpegLookup = null;
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      ffmpegLookup = c;
      break;
    } catch {
      // not here
    }
  }
  return ffmpegLookup ?? undefined;
}

/** FFmpeg's arguments: input from stdin, output to stdout, nothing else (no URL, no file, no shell). */
export function transcoderArgs(inputCodec: 'H264' | 'H265', fps: number): string[] {
  const rate = String(Math.round(fps * 1000) / 1000);
  const gop = String(Math.max(1, Math.round(fps * DEFAULT_TRANSCODER_OPTIONS.keyframeIntervalS)));
  return [
    '-hide_banner',
    '-nostdin', // no interactive keys on stdin: stdin is the video (-i pipe:0 still reads it)
    '-loglevel',
    'error',
    // Start decoding at once instead of probing seconds of input. (+nobuffer would lose frames at start.)
    '-probesize',
    '32',
    '-analyzeduration',
    '0',
    // One decoding thread: frame threading would hold a frame per thread, i.e. add latency.
    '-threads',
    '1',
    '-f',
    inputCodec === 'H265' ? 'hevc' : 'h264',
    '-framerate',
    rate,
    '-i',
    'pipe:0',
    '-map',
    '0:v:0',
    '-an',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency', // no lookahead, no frame threads: a frame out per frame in
    '-profile:v',
    'baseline', // Constrained Baseline: no B-frames, the profile every WebRTC H.264 decoder takes (RFC 7742 §6.2)
    '-bf',
    '0',
    '-pix_fmt',
    'yuv420p', // 10-bit H.265 cameras: 8-bit 4:2:0 is what Baseline carries
    '-g',
    gop,
    '-fps_mode',
    'passthrough', // one output frame per input frame: never duplicate or drop to a fixed rate
    '-flush_packets',
    '1',
    '-f',
    'h264',
    'pipe:1',
  ];
}

/**
 * Runs FFmpeg for one camera while it is open; `close()` kills it. Exits on
 * its own (crash, bad input) restart it with backoff.
 */
export class Transcoder extends EventEmitter<TranscoderEvents> {
  readonly #o: Required<Omit<TranscoderOptions, 'restart' | 'fps'>> & {
    fps: number;
    restart: { initialMs: number; maxMs: number };
  };
  readonly #ffmpeg: FfmpegChild;
  #splitter: AnnexBSplitter;
  #assembler = new H264AccessUnitAssembler();
  /** Input timestamps (extended past 32-bit wrap) not yet given to an output frame, ascending. */
  #timestamps: number[] = [];
  #lastIn: number | undefined;
  #extended = 0;
  /** Input is dropped until the next keyframe (FFmpeg just started, or fell behind). */
  #needKeyframe = true;
  #closed = false;
  readonly stats = { framesIn: 0, framesOut: 0, droppedIn: 0, restarts: 0 };

  constructor(opts: TranscoderOptions) {
    super();
    if (typeof opts?.ffmpegPath !== 'string' || opts.ffmpegPath === '') {
      throw new TypeError('Transcoder: ffmpegPath must be a non-empty string');
    }
    if (opts.inputCodec !== 'H264' && opts.inputCodec !== 'H265') {
      throw new TypeError(`Transcoder: inputCodec must be 'H264' or 'H265', got ${String(opts.inputCodec)}`);
    }
    const fps = opts.fps ?? DEFAULT_TRANSCODER_OPTIONS.fps;
    if (typeof fps !== 'number' || !(fps >= 0.1 && fps <= 240)) {
      throw new RangeError(`Transcoder: fps must be 0.1..240 frames/s, got ${String(fps)}`);
    }
    const d = DEFAULT_TRANSCODER_OPTIONS;
    this.#o = {
      ffmpegPath: opts.ffmpegPath,
      inputCodec: opts.inputCodec,
      fps,
      logger: opts.logger,
      maxPendingBytes: opts.maxPendingBytes ?? d.maxPendingBytes,
      maxOutputNaluBytes: opts.maxOutputNaluBytes ?? d.maxOutputNaluBytes,
      restart: {
        initialMs: opts.restart?.initialMs ?? d.restart.initialMs,
        maxMs: opts.restart?.maxMs ?? d.restart.maxMs,
      },
    };
    this.#splitter = new AnnexBSplitter(this.#o.maxOutputNaluBytes);
    this.#ffmpeg = new FfmpegChild({
      ffmpegPath: this.#o.ffmpegPath,
      args: () => transcoderArgs(this.#o.inputCodec, this.#o.fps),
      name: 'transcoder',
      logger: this.#o.logger,
      restart: this.#o.restart,
      onStart: () => this.#reset(),
      onOutput: (chunk) => this.#onOutput(chunk),
      onExit: () => this.#flush(),
      onRestarting: (delay, detail) => {
        this.stats.restarts++;
        this.emit('restarting', delay, detail);
      },
    });
  }

  /** True while an FFmpeg process runs. */
  get running(): boolean {
    return this.#ffmpeg.running;
  }

  /**
   * Feeds one camera access unit (with its parameter sets on keyframes, as RtspClient delivers them).
   * Returns false when it was dropped (FFmpeg starting or behind: input resumes at the next keyframe).
   */
  write(au: H264AccessUnit): boolean {
    if (!this.#ffmpeg.running || this.#closed) return false;
    if (this.#needKeyframe && !au.keyframe) {
      this.stats.droppedIn++;
      return false;
    }
    if (this.#ffmpeg.pendingBytes > this.#o.maxPendingBytes) {
      // FFmpeg cannot keep up (CPU): drop rather than grow, and resume where a decoder can.
      if (!this.#needKeyframe) this.#o.logger.warn('transcoder falls behind: dropping video to the next keyframe');
      this.#needKeyframe = true;
      this.stats.droppedIn++;
      return false;
    }
    this.#needKeyframe = false;
    this.#pushTimestamp(au.timestamp);
    this.stats.framesIn++;
    this.#ffmpeg.write(toAnnexB(au.nalus));
    return true;
  }

  /** Kills FFmpeg and stops restarting it. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#ffmpeg.stop();
  }

  /** A new FFmpeg process: its output starts afresh, and its input at a keyframe. */
  #reset(): void {
    this.#splitter = new AnnexBSplitter(this.#o.maxOutputNaluBytes);
    this.#assembler = new H264AccessUnitAssembler();
    this.#timestamps = [];
    this.#lastIn = undefined;
    this.#needKeyframe = true;
  }

  #onOutput(chunk: Buffer): void {
    for (const nalu of this.#splitter.push(chunk)) {
      const nalus = this.#assembler.push(nalu);
      if (nalus) this.#emitUnit(nalus);
    }
  }

  #emitUnit(nalus: Buffer[]): void {
    const ts = this.#timestamps.shift();
    const timestamp = ts !== undefined ? ts % 2 ** 32 : 0;
    this.stats.framesOut++;
    this.#ffmpeg.healthy(); // it works: a later crash starts the backoff afresh
    this.emit('accessUnit', { nalus, timestamp, keyframe: hasIdr(nalus) });
  }

  #pushTimestamp(ts: number): void {
    // Extend the 32-bit RTP timestamp (RFC 3550 §5.1 wraps) so that ordering survives a wrap.
    if (this.#lastIn !== undefined) {
      const delta = ((ts - this.#lastIn) | 0) as number; // signed difference
      this.#extended += delta;
    } else {
      this.#extended = ts;
    }
    this.#lastIn = ts >>> 0;
    const v = this.#extended;
    const list = this.#timestamps;
    let i = list.length;
    while (i > 0 && list[i - 1]! > v) i--;
    list.splice(i, 0, v);
    if (list.length > MAX_PENDING_TIMESTAMPS) list.shift();
  }

  /** FFmpeg exited on its own: what it still held goes out. */
  #flush(): void {
    for (const n of this.#splitter.flush()) {
      const nalus = this.#assembler.push(n);
      if (nalus) this.#emitUnit(nalus);
    }
    const last = this.#assembler.flush();
    if (last) this.#emitUnit(last);
  }
}
