/**
 * Tile pictures from the stream the engine already pulls: the keyframe at the
 * head of the engine's GOP cache (SPS, PPS, IDR) is decoded once by FFmpeg,
 * fed on stdin — no URL, so no camera password on any command line (`ps`
 * shows every process's argv to every local user) — and the JPEG is served
 * again for `ttlMs`. No RTSP session is opened: cheap cameras allow only 2–4,
 * and a new session per picture took 1.9–4.1 s (issue 14). Only when no stream
 * is cached (Kurento Media Server, keepWarm off and nobody watching, camera
 * down) does the fallback open one, and the log says so.
 */
import type { PrefixedLog } from './log.js';
import { ffmpegJpeg, findFfmpeg } from './snapshot.js';

/** H.264 Annex B start code (ITU-T H.264 Annex B.1). */
const START_CODE = Buffer.from([0, 0, 0, 1]);

/** A keyframe's NAL units (no start codes) decoded to one JPEG by FFmpeg on stdin/stdout. */
export function decodeKeyframe(nalus: readonly Buffer[]): Promise<Buffer> {
  const ffmpeg = findFfmpeg();
  if (!ffmpeg) return Promise.reject(new Error('FFmpeg is not installed'));
  const annexB = Buffer.concat(nalus.flatMap((n) => [START_CODE, n]));
  // Raw H.264 in, one picture out; the input comes from the engine's memory, never from a URL.
  const args = ['-hide_banner', '-loglevel', 'error', '-f', 'h264', '-i', 'pipe:0'];
  args.push('-frames:v', '1', '-f', 'image2', '-c:v', 'mjpeg', '-q:v', '3', 'pipe:1');
  return ffmpegJpeg(ffmpeg, args, annexB, 'FFmpeg decoded no picture from the cached keyframe');
}

export interface StreamSnapshotsOptions {
  /** The engine's cached keyframe of this camera, or undefined when no pull of it is open. */
  keyframe: () => Buffer[] | undefined;
  /** The old path (FFmpeg opens its own RTSP session), used only when nothing is cached. */
  fallback: (width: number) => Promise<Buffer>;
  /** How long a JPEG is served again, ms (0: decode for every request). */
  ttlMs: number;
  log: PrefixedLog;
  now?: () => number;
}

/** One camera's snapshots: the cached JPEG, else one decode shared by concurrent requests, else the fallback. */
export class StreamSnapshots {
  readonly #o: StreamSnapshotsOptions;
  #jpeg: { data: Buffer; at: number } | undefined;
  #pending: Promise<Buffer> | undefined;
  /** Whether the last picture came from the fallback, so the log says it once per switch, not per tile refresh. */
  #onFallback = false;

  constructor(o: StreamSnapshotsOptions) {
    if (!Number.isInteger(o.ttlMs) || o.ttlMs < 0) {
      throw new RangeError(`StreamSnapshots option ttlMs must be an integer >= 0, got ${String(o.ttlMs)}`);
    }
    this.#o = o;
  }

  take(width: number): Promise<Buffer> {
    const now = this.#o.now?.() ?? Date.now();
    if (this.#jpeg && now - this.#jpeg.at < this.#o.ttlMs) return Promise.resolve(this.#jpeg.data);
    this.#pending ??= this.#fresh(width).finally(() => (this.#pending = undefined));
    return this.#pending;
  }

  async #fresh(width: number): Promise<Buffer> {
    const log = this.#o.log;
    const key = this.#o.keyframe();
    let data: Buffer;
    if (key) {
      const started = performance.now();
      data = await decodeKeyframe(key);
      if (this.#onFallback) log.info('snapshots come from the cached stream again');
      this.#onFallback = false;
      log.debug(`snapshot decoded from the cached keyframe in ${Math.round(performance.now() - started)} ms`);
    } else {
      if (!this.#onFallback)
        log.info('no stream of this camera is cached: snapshot from a new RTSP session (FFmpeg) instead');
      this.#onFallback = true;
      data = await this.#o.fallback(width);
    }
    this.#jpeg = { data, at: this.#o.now?.() ?? Date.now() };
    return data;
  }
}
