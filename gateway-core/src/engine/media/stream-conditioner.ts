/**
 * Between a camera's stream and its viewers: makes what the camera sends
 * playable by a browser, once per camera (not per viewer).
 *
 * - H.264 without B-frames passes untouched (the common case: the only cost
 *   is reading the slice type, two Exp-Golomb codes, of each frame while the
 *   SPS allows reordering at all);
 * - H.265, and H.264 with B-frames, go through FFmpeg (transcoder.ts) when
 *   the camera's `transcode` mode is `auto` and FFmpeg is installed; `always`
 *   sends every stream through it;
 * - without FFmpeg, or with `never`, B-frame streams lose their non-reference
 *   frames (bframe-filter.ts) and play at a reduced frame rate; H.265 is
 *   refused before SETUP (RtspClient `acceptH265`) with a clear notice.
 *
 * It logs once per stream start what the camera sends (codec, profile,
 * resolution, frame rate, B-frames) and emits notices (code + plain words,
 * no secrets) when the viewer does not get the camera's stream as it is.
 */
import { EventEmitter } from 'node:events';
import {
  h264ProfileName,
  NAL_TYPE,
  nalType,
  parseH264Sps,
  sliceType,
  SLICE_TYPE,
  type H264AccessUnit,
  type H264SpsInfo,
  type RtspVideoInfo,
} from '../../rtsp/index.js';
import type { Logger } from '../../util/index.js';
import type { TranscodeMode } from '../camera-profiles.js';
import { NonReferenceFilter } from './bframe-filter.js';
import { findFfmpeg, Transcoder, type TranscoderOptions } from './transcoder.js';

/** What a source tells its handles when viewers do not get the camera's stream as it is. */
export interface StreamNotice {
  /** `CAMGATE_STREAM_TRANSCODING` | `CAMGATE_STREAM_BFRAMES_DROPPED` | `CAMGATE_STREAM_UNSUPPORTED`. */
  code: string;
  /** Plain words for the viewer tile and the log; never a URL or a secret. */
  message: string;
}

export const NOTICE_MESSAGES = {
  h265Transcoding: 'H.265 converted to H.264 for browsers.',
  bframesTranscoding:
    'This camera sends B-frames, which browsers cannot play in real time: converted to H.264 without B-frames.',
  alwaysTranscoding: 'Converted to H.264 for browsers (transcode: always).',
  bframesDropped:
    "This camera sends B-frames, which browsers cannot play in real time: playing at reduced frame rate. Turn B-frames off in the camera's video settings (or choose the Baseline/Main profile), or install FFmpeg so camgate can convert the stream.",
  h265Unsupported:
    "This camera sends H.265 video, which browsers cannot play, and camgate cannot convert it: only H.264 video is supported as it is. Set the camera's video codec to H.264 in its video settings, or install FFmpeg so camgate can convert the stream.",
  h265Never:
    "This camera sends H.265 video, which browsers cannot play, and its transcode option is 'never': only H.264 video is supported as it is. Set the camera's video codec to H.264 in its video settings, or set transcode to 'auto'.",
  transcoderRestarting: 'The video converter (FFmpeg) for this camera stopped; restarting it.',
} as const;

export interface StreamConditionerOptions {
  /** The camera's logger (its lines name the camera). */
  logger: Logger;
  /** The camera's transcode mode now (it may change while the pull is open; applies from the next stream start). */
  mode: () => TranscodeMode;
  /** Whether someone watches: FFmpeg runs only then. */
  watched: () => boolean;
  /** The FFmpeg executable, or undefined when it is not installed. Default: findFfmpeg(). */
  ffmpeg?: () => string | undefined;
  /** Transcoder options (restart backoff, limits) for tests. */
  transcoder?: Pick<TranscoderOptions, 'restart' | 'maxPendingBytes'>;
}

export interface StreamConditionerEvents {
  /** An access unit a browser can play. */
  accessUnit: [au: H264AccessUnit];
  /** What viewers get changed form (passthrough → transcoded or filtered): caches must wait for the next keyframe. */
  reset: [];
  notice: [notice: StreamNotice];
}

type Path = 'pass' | 'transcode' | 'filter';

/** Access units after the first keyframe during which B-frames are looked for before the stream is logged. */
const DETECT_UNITS = 30;
/** Bytes of camera input kept since the last keyframe, to start FFmpeg at once when a viewer comes. */
const INPUT_GOP_MAX_BYTES = 8 * 1024 * 1024; // 8 MiB, as the GOP cache

export class StreamConditioner extends EventEmitter<StreamConditionerEvents> {
  readonly #o: StreamConditionerOptions;
  readonly #ffmpeg: () => string | undefined;
  #info: RtspVideoInfo | undefined;
  #path: Path = 'pass';
  /** Set while an H.264 stream may still turn out to have B-frames. */
  #checkSlices = true;
  #sps: H264SpsInfo | undefined;
  #spsBuffer: Buffer | undefined;
  #logged = false;
  #unitsSinceKeyframe = -1;
  #firstTimestamp: number | undefined;
  #lastTimestamp: number | undefined;
  #timedUnits = 0;
  #bFrames = false;
  readonly #filter = new NonReferenceFilter();
  #transcoder: Transcoder | undefined;
  /** Camera units since the last keyframe (transcode path), fed to FFmpeg when it starts. */
  #inputGop: H264AccessUnit[] = [];
  #inputGopBytes = 0;
  #outputLogged = false;
  #notice: StreamNotice | undefined;
  /** The notice to restore once a restarted FFmpeg delivers again. */
  #beforeRestart: StreamNotice | undefined;
  #refusedH265 = false;
  #closed = false;

  constructor(opts: StreamConditionerOptions) {
    super();
    this.#o = opts;
    this.#ffmpeg = opts.ffmpeg ?? (() => findFfmpeg());
  }

  /** The latest notice of the current stream; undefined when viewers get the camera's stream as it is. */
  get notice(): StreamNotice | undefined {
    return this.#notice;
  }

  /** 'pass' | 'transcode' | 'filter': what viewers of the current stream get. */
  get path(): Path {
    return this.#path;
  }

  get transcoder(): Transcoder | undefined {
    return this.#transcoder;
  }

  /** True when FFmpeg may convert this camera's streams (mode not `never` and FFmpeg installed). */
  canTranscode(): boolean {
    return this.#o.mode() !== 'never' && this.#ffmpeg() !== undefined;
  }

  /** For RtspClient's `acceptH265`: remembers a refusal so the failure gets its notice. */
  acceptH265(): boolean {
    const ok = this.canTranscode();
    this.#refusedH265 = !ok;
    return ok;
  }

  /** The stream failed as unsupported (RtspClient state `failed`, CAMGATE_RTSP_UNSUPPORTED). */
  unsupported(detail: string): void {
    if (this.#refusedH265) {
      const message = this.#o.mode() === 'never' ? NOTICE_MESSAGES.h265Never : NOTICE_MESSAGES.h265Unsupported;
      this.#setNotice({ code: 'CAMGATE_STREAM_UNSUPPORTED', message }, 'warn');
      return;
    }
    this.#setNotice(
      {
        code: 'CAMGATE_STREAM_UNSUPPORTED',
        message: `The camera sent a stream camgate cannot play (${detail}). Set the camera's video codec to H.264 in its video settings.`,
      },
      'warn',
    );
  }

  /** A stream starts (after DESCRIBE/SETUP, again after each reconnect). */
  onVideo(info: RtspVideoInfo): void {
    this.#stopTranscoder();
    this.#info = info;
    this.#notice = undefined;
    this.#beforeRestart = undefined;
    this.#refusedH265 = false;
    this.#filter.reset();
    this.#sps = undefined;
    this.#spsBuffer = undefined;
    this.#logged = false;
    this.#outputLogged = false;
    this.#unitsSinceKeyframe = -1;
    this.#firstTimestamp = this.#lastTimestamp = undefined;
    this.#timedUnits = 0;
    this.#bFrames = false;
    this.#checkSlices = true;
    this.#inputGop = [];
    this.#inputGopBytes = 0;
    this.#path = 'pass';
    if (info.codec === 'H265') {
      this.#path = 'transcode';
      this.#setNotice({ code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.h265Transcoding }, 'info');
    } else if (this.#o.mode() === 'always' && this.canTranscode()) {
      this.#path = 'transcode';
      this.#setNotice({ code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.alwaysTranscoding }, 'info');
    }
  }

  /** One camera access unit. */
  push(au: H264AccessUnit): void {
    if (this.#closed || !this.#info) return;
    this.#time(au);
    if (this.#path !== 'pass' || this.#checkSlices) this.#keepInput(au); // plain H.264 needs no copy of its GOP
    if (this.#info.codec === 'H264') this.#inspect(au);
    switch (this.#path) {
      case 'pass':
        this.emit('accessUnit', au);
        return;
      case 'filter': {
        const out = this.#filter.filter(au);
        if (out) this.emit('accessUnit', out);
        return;
      }
      case 'transcode':
        this.#transcode(au);
    }
  }

  /** Stops FFmpeg for good (the pull closes). Idempotent. */
  close(): void {
    this.#closed = true;
    this.#stopTranscoder();
  }

  /** Reads the SPS at keyframes and the slice type of each unit while B-frames are possible. */
  #inspect(au: H264AccessUnit): void {
    if (au.keyframe) {
      const spsNalu = au.nalus.find((n) => nalType(n) === NAL_TYPE.SPS);
      if (spsNalu && spsNalu !== this.#spsBuffer) {
        this.#spsBuffer = spsNalu;
        this.#sps = parseH264Sps(spsNalu);
        // An SPS that rules out reordering (Baseline, POC type 2, max_num_reorder_frames 0) ends the check.
        this.#checkSlices = this.#sps?.mayReorder ?? true;
      }
      this.#unitsSinceKeyframe = 0;
    } else if (this.#unitsSinceKeyframe >= 0) {
      this.#unitsSinceKeyframe++;
    }
    if (this.#checkSlices && !this.#bFrames) {
      const slice = au.nalus.find((n) => nalType(n) === NAL_TYPE.NON_IDR);
      if (slice && sliceType(slice) === SLICE_TYPE.B) this.#onBFrames();
    }
    if (!this.#logged && this.#unitsSinceKeyframe >= 0) {
      if (this.#bFrames || !this.#checkSlices || this.#unitsSinceKeyframe >= DETECT_UNITS) this.#logStream();
    }
  }

  #onBFrames(): void {
    this.#bFrames = true;
    if (this.#path !== 'pass') return this.#logStream(); // already transcoding (always)
    this.#path = this.canTranscode() ? 'transcode' : 'filter';
    this.#logStream();
    if (this.#path === 'transcode') {
      this.#setNotice({ code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.bframesTranscoding }, 'info');
    } else {
      this.#setNotice({ code: 'CAMGATE_STREAM_BFRAMES_DROPPED', message: NOTICE_MESSAGES.bframesDropped }, 'warn');
    }
    // Viewers got the first frames of this GOP as they were: what follows starts at a new keyframe.
    this.emit('reset');
  }

  #logStream(): void {
    if (this.#logged || !this.#info) return;
    this.#logged = true;
    const sps = this.#sps;
    this.#o.logger.info('camera stream', {
      codec: 'H.264',
      profile: sps ? h264ProfileName(sps) : (this.#info.profileLevelId ?? 'unknown'),
      resolution: sps ? `${sps.width}x${sps.height}` : 'unknown',
      fps: this.#fps() ?? 'unknown',
      bFrames: this.#bFrames,
      playedAs:
        this.#path === 'pass' ? 'as sent' : this.#path === 'filter' ? 'non-reference frames dropped' : 'transcoded',
    });
  }

  /** Frame rate: the SPS's when it says, else from the RTP timestamps of the units seen so far. */
  #fps(): number | undefined {
    if (this.#sps?.fps) return this.#sps.fps;
    if (this.#timedUnits < 3 || this.#firstTimestamp === undefined || this.#lastTimestamp === undefined) {
      return undefined;
    }
    const span = this.#lastTimestamp - this.#firstTimestamp;
    // 90 kHz clock (RFC 6184 §8.2.1, RFC 7798 §7.1); B-frame input arrives out of order, so use the span of times.
    const fps = span > 0 ? ((this.#timedUnits - 1) * 90_000) / span : undefined;
    return fps && fps >= 0.1 && fps <= 240 ? Math.round(fps * 100) / 100 : undefined;
  }

  #time(au: H264AccessUnit): void {
    if (this.#timedUnits >= 64) return; // enough to know the rate
    const ts = au.timestamp;
    if (this.#firstTimestamp === undefined) {
      this.#firstTimestamp = this.#lastTimestamp = ts;
    } else {
      const first = this.#firstTimestamp;
      const rel = (ts - first) | 0;
      if (rel < 0) this.#firstTimestamp = ts;
      else if (rel > this.#lastTimestamp! - first) this.#lastTimestamp = ts;
    }
    this.#timedUnits++;
  }

  /** Keeps the camera's GOP (references, bounded) so FFmpeg starts from its last keyframe, not from the next one. */
  #keepInput(au: H264AccessUnit): void {
    if (au.keyframe) {
      this.#inputGop = [];
      this.#inputGopBytes = 0;
    }
    const size = au.nalus.reduce((n, b) => n + b.length, 0);
    if ((au.keyframe || this.#inputGop.length > 0) && this.#inputGopBytes + size <= INPUT_GOP_MAX_BYTES) {
      this.#inputGop.push(au);
      this.#inputGopBytes += size;
    } else {
      this.#inputGop = [];
      this.#inputGopBytes = 0;
    }
  }

  #transcode(au: H264AccessUnit): void {
    if (!this.#o.watched()) {
      this.#stopTranscoder(); // nobody watches: FFmpeg would burn CPU for no one
      return;
    }
    if (!this.#transcoder) {
      const t = this.#startTranscoder();
      for (const unit of this.#inputGop) t?.write(unit);
      return;
    }
    this.#transcoder.write(au);
  }

  #startTranscoder(): Transcoder | undefined {
    const ffmpegPath = this.#ffmpeg();
    if (!ffmpegPath || !this.#info) return undefined;
    const t = new Transcoder({
      ffmpegPath,
      inputCodec: this.#info.codec,
      fps: this.#fps() ?? 25,
      logger: this.#o.logger,
      ...this.#o.transcoder,
    });
    t.on('accessUnit', (out) => {
      if (!this.#outputLogged && out.keyframe) this.#logOutput(out);
      if (this.#beforeRestart) {
        const back = this.#beforeRestart;
        this.#beforeRestart = undefined;
        this.#setNotice(back, 'info'); // converting again: the tile shows why, not the crash
      }
      this.emit('accessUnit', out);
    });
    t.on('restarting', () => {
      if (this.#notice?.message !== NOTICE_MESSAGES.transcoderRestarting) this.#beforeRestart = this.#notice;
      this.#setNotice({ code: 'CAMGATE_STREAM_TRANSCODING', message: NOTICE_MESSAGES.transcoderRestarting }, 'warn');
      this.emit('reset');
    });
    this.#transcoder = t;
    return t;
  }

  /** H.265 streams are logged from the converter's first keyframe, which tells the resolution. */
  #logOutput(out: H264AccessUnit): void {
    this.#outputLogged = true;
    const spsNalu = out.nalus.find((n) => nalType(n) === NAL_TYPE.SPS);
    const sps = spsNalu ? parseH264Sps(spsNalu) : undefined;
    const resolution = sps ? `${sps.width}x${sps.height}` : 'unknown';
    if (this.#info?.codec === 'H265') {
      this.#o.logger.info('camera stream', {
        codec: 'H.265',
        resolution,
        fps: this.#fps() ?? 'unknown',
        playedAs: 'transcoded to H.264 Constrained Baseline',
      });
    } else {
      this.#o.logger.debug('transcoder output', { resolution });
    }
  }

  #stopTranscoder(): void {
    const t = this.#transcoder;
    this.#transcoder = undefined;
    if (!t) return;
    t.removeAllListeners();
    t.close();
  }

  #setNotice(notice: StreamNotice, level: 'info' | 'warn'): void {
    this.#notice = notice;
    this.#o.logger[level]('camera stream notice', { code: notice.code, message: notice.message });
    this.emit('notice', notice);
  }
}
