import type { Logger } from '../../util/index.js';
import { chooseViewerCodec, type AudioFrame, type CameraAudioInfo, type ViewerAudioCodec } from './audio-codecs.js';
import { CameraClock } from './lip-sync.js';
import type { EventEmitter } from 'node:events';
import { canTranscodeAudio, OpusTranscoder, type OpusTranscoderOptions } from './opus-transcoder.js';
import type { StreamNotice } from './stream-conditioner.js';

export interface AudioSubscribeOptions {
  /**
   * The codecs this subscriber can send on (a viewer's negotiated ones). Given: it gets the camera's
   * G.711 (or Opus) untouched when listed, else Opus from the camera's shared FFmpeg child (needs
   * 'OPUS' listed), else nothing. Omitted: every camera frame as the camera sent it, whatever the codec.
   */
  accept?: readonly ViewerAudioCodec[];
}

export interface SourceAudioOptions {
  /** The FFmpeg executable (findFfmpeg), undefined when there is none: Opus is then off, with a notice. */
  ffmpeg: () => string | undefined;
  clock: CameraClock;
  logger: Logger;
  /** Told once per problem: FFmpeg missing, an audio codec we cannot carry. */
  notice: (n: StreamNotice) => void;
  transcoder?: Pick<OpusTranscoderOptions, 'bitrate' | 'restart' | 'maxPendingBytes'>;
}

interface AudioSubscriber {
  sink: (frame: AudioFrame) => void;
  accept: readonly ViewerAudioCodec[] | undefined;
  /** What this subscriber gets now: the camera's frames, Opus from FFmpeg, or nothing. */
  route: 'native' | 'opus' | 'none';
}

/** Samples per channel of a G.711 or raw frame: RFC 3551 §4.5.14 (a byte a sample); Opus from its TOC. */
function nativeSamples(info: CameraAudioInfo, payload: Buffer): number {
  if (info.codec === 'PCMA' || info.codec === 'PCMU') return payload.length;
  if (info.codec === 'AAC') return 1024;
  return 0;
}

/**
 * A camera's audio for its subscribers: G.711 straight through, and one
 * Opus transcoder (FFmpeg) shared by every subscriber that needs Opus,
 * running only while there is one. No cache: audio a viewer missed is not
 * worth replaying (unlike a GOP, nothing later depends on it).
 */
export class SourceAudio {
  readonly #o: SourceAudioOptions;
  readonly subscribers = new Set<AudioSubscriber>();
  #info: CameraAudioInfo | undefined;
  #transcoder: OpusTranscoder | undefined;
  /** Problems already told (a notice per cause, not per frame). */
  readonly #told = new Set<string>();
  #closed = false;

  constructor(opts: SourceAudioOptions) {
    this.#o = opts;
  }

  get info(): CameraAudioInfo | undefined {
    return this.#info;
  }

  /** The FFmpeg child's pid while one runs (tests, benchmarks). */
  get transcoderPid(): number | undefined {
    return this.#transcoder?.pid;
  }

  /** The RTSP client's `audio` event (after each SETUP): a new AAC config restarts FFmpeg. */
  onInfo(info: CameraAudioInfo): void {
    const old = this.#info;
    const same =
      old !== undefined &&
      old.codec === info.codec &&
      old.clockRate === info.clockRate &&
      old.channels === info.channels &&
      (old.config === undefined
        ? info.config === undefined
        : info.config !== undefined && old.config.equals(info.config));
    this.#info = info;
    if (!same) {
      this.#stopTranscoder();
      this.#reroute();
    }
  }

  /** The RTSP client's `audioFrame` event. */
  onFrame(payload: Buffer, timestamp: number): void {
    const info = this.#info;
    if (!info || this.subscribers.size === 0) return;
    const ntpMs = this.#o.clock.ntpOf('audio', timestamp);
    const frame: AudioFrame = {
      codec: info.codec,
      payload,
      timestamp,
      clockRate: info.clockRate,
      samples: nativeSamples(info, payload),
      ntpMs,
    };
    for (const s of this.subscribers) if (s.route === 'native') this.#deliver(s, frame);
    this.#transcoder?.write(payload, timestamp);
  }

  subscribe(sink: (frame: AudioFrame) => void, opts: AudioSubscribeOptions = {}): () => void {
    if (typeof sink !== 'function') throw new TypeError('subscribeAudio: sink must be a function');
    const accept = opts.accept;
    if (accept !== undefined && (!Array.isArray(accept) || accept.some((c) => !['PCMA', 'PCMU', 'OPUS'].includes(c)))) {
      throw new TypeError(`subscribeAudio: accept must list 'PCMA', 'PCMU' or 'OPUS', got ${JSON.stringify(accept)}`);
    }
    const sub: AudioSubscriber = { sink, accept: accept ? [...accept] : undefined, route: 'none' };
    this.subscribers.add(sub);
    this.#reroute();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.subscribers.delete(sub);
      this.#reroute();
    };
  }

  /** Stops FFmpeg and drops every subscriber. */
  close(): void {
    this.#closed = true;
    this.subscribers.clear();
    this.#stopTranscoder();
  }

  #route(s: AudioSubscriber): AudioSubscriber['route'] {
    const info = this.#info;
    if (!info) return 'none';
    if (!s.accept) return 'native';
    const codec = chooseViewerCodec(info.codec, s.accept);
    if (codec === undefined) return 'none';
    return codec === info.codec ? 'native' : 'opus';
  }

  /** Recomputes every subscriber's route; starts FFmpeg for the first Opus listener, stops it after the last. */
  #reroute(): void {
    let opus = 0;
    for (const s of this.subscribers) {
      s.route = this.#route(s);
      if (s.route === 'opus') opus++;
    }
    if (opus > 0 && !this.#transcoder && !this.#closed) this.#startTranscoder();
    else if (opus === 0) this.#stopTranscoder();
  }

  #startTranscoder(): void {
    const info = this.#info!;
    const name = info.encodingName.replace(/[^A-Za-z0-9._-]/g, '').slice(0, 32) || 'unnamed'; // from the camera's SDP
    const ffmpeg = this.#o.ffmpeg();
    if (!ffmpeg) {
      this.#tell('no-ffmpeg', {
        code: 'CAMGATE_STREAM_AUDIO_UNAVAILABLE',
        message: `The camera's ${name} sound needs FFmpeg to reach browsers, and FFmpeg is not installed: video only.`,
      });
      return;
    }
    if (!canTranscodeAudio(info)) {
      this.#tell(`codec:${name}`, {
        code: 'CAMGATE_STREAM_AUDIO_UNAVAILABLE',
        message: `The camera's sound (${name}) cannot be played in browsers: video only.`,
      });
      return;
    }
    const t = new OpusTranscoder({ ...this.#o.transcoder, ffmpegPath: ffmpeg, input: info, logger: this.#o.logger });
    t.on('packet', (p) => {
      const frame: AudioFrame = {
        codec: 'OPUS',
        payload: p.payload,
        timestamp: Math.round((p.timestamp * 48_000) / info.clockRate) >>> 0,
        clockRate: 48_000,
        samples: p.samples,
        ntpMs: this.#o.clock.ntpOf('audio', p.timestamp),
      };
      for (const s of this.subscribers) if (s.route === 'opus') this.#deliver(s, frame);
    });
    this.#transcoder = t;
    this.#o.logger.info('audio transcoding to Opus started', { input: name, pid: t.pid });
  }

  #stopTranscoder(): void {
    const t = this.#transcoder;
    if (!t) return;
    this.#transcoder = undefined;
    t.close();
    this.#o.logger.info('audio transcoding to Opus stopped (no listener left or the camera changed)');
  }

  #tell(key: string, n: StreamNotice): void {
    if (this.#told.has(key)) return;
    this.#told.add(key);
    this.#o.logger.warn(n.message, { code: n.code });
    this.#o.notice(n);
  }

  #deliver(s: AudioSubscriber, frame: AudioFrame): void {
    try {
      s.sink(frame);
    } catch (err) {
      this.#o.logger.warn('an audio subscriber threw; it stays subscribed', { err });
    }
  }
}

/** The audio side of the RTSP client (team contract: events `audio`, `audioFrame`, `senderReport`). */
interface AudioRtspEvents {
  audio: [info: CameraAudioInfo];
  audioFrame: [frame: { payload: Buffer; timestamp: number }];
  senderReport: [sr: { track: 'video' | 'audio'; ntpMs: number; rtpTimestamp: number }];
}

/** H.264's RTP clock (RFC 6184 §8.2.1): the video track's sender reports count in it. */
const VIDEO_CLOCK = 90_000;

/**
 * Wires a camera's RTSP client to a new SourceAudio and CameraClock. An RtspClient without the audio
 * events simply never emits them: the camera then plays as video only.
 */
export function attachSourceAudio(
  client: EventEmitter,
  opts: Omit<SourceAudioOptions, 'clock'>,
): { audio: SourceAudio; clock: CameraClock } {
  const clock = new CameraClock();
  const audio = new SourceAudio({ ...opts, clock });
  const c = client as unknown as EventEmitter<AudioRtspEvents>;
  c.on('audio', (info) => audio.onInfo(info));
  c.on('audioFrame', (f) => audio.onFrame(f.payload, f.timestamp));
  c.on('senderReport', (sr) => {
    const rate = sr.track === 'video' ? VIDEO_CLOCK : audio.info?.clockRate;
    if (rate) clock.report(sr.track, sr.ntpMs, sr.rtpTimestamp, rate);
  });
  return { audio, clock };
}
