import { EventEmitter } from 'node:events';
import { RtspClient, type H264AccessUnit, type RtspClientOptions, type RtspVideoInfo } from '../../rtsp/index.js';
import { CamgateError, defaultLogger, withFields, type Logger } from '../../util/index.js';
import type { CameraProfile } from '../camera-profiles.js';
import { GopCache } from './gop-cache.js';
import type { ReplayedAccessUnit } from './access-unit.js';
import { CameraStatusTracker, type CameraStatus } from './camera-status.js';
import { StreamConditioner, type StreamConditionerOptions, type StreamNotice } from './stream-conditioner.js';
import { findFfmpeg } from './transcoder.js';
import {
  attachSourceAudioTalk,
  HandleAudioTalk,
  type RtspSourceAudioTalk,
  type SharedSourceAudioOptions,
  type SourceAudioTalk,
} from './shared-source-audio-talk.js';
import type { RtspSourceHandle, RtspSourceHandleEvents, RtspSourceState } from './rtsp-source-handle.js';

export interface SharedRtspSourcesOptions {
  /** Options for every RtspClient (timeouts, backoff, limits). */
  rtsp?: RtspClientOptions;
  /** Bound of each camera's GOP cache, in bytes. */
  gopMaxBytes?: number;
  /** Where FFmpeg is and how the transcoder restarts (tests); default: `ffmpeg` on PATH. */
  conditioner?: Pick<StreamConditionerOptions, 'ffmpeg' | 'transcoder'>;
  /** The audio transcoder (AAC → Opus): FFmpeg path (default: the conditioner's, else `ffmpeg` on PATH) and restarts. */
  audio?: SharedSourceAudioOptions;
  logger?: Logger;
}

export const DEFAULT_SHARED_RTSP_SOURCES_OPTIONS = {
  gopMaxBytes: 8 * 1024 * 1024, // 8 MiB: a 4 s GOP of 1080p at 8 Mbit/s is ~4 MiB
} as const;

const MAX_URI_CHARS = 2048;

interface Subscriber {
  sink: (au: H264AccessUnit) => void;
  /** True until this subscriber has seen an IDR (a P frame alone cannot be decoded). */
  needKeyframe: boolean;
}

/** One camera pull, shared by every handle on the same uri. */
class Source implements SourceAudioTalk {
  readonly client: RtspClient;
  readonly gop: GopCache;
  readonly handles = new Set<Handle>();
  readonly subscribers = new Set<Subscriber>();
  state: RtspSourceState = 'connecting';
  error: CamgateError | undefined;
  profile: CameraProfile | undefined;
  readonly status = new CameraStatusTracker();
  /** Makes the camera's stream playable by browsers (transcoder, B-frame filter); passthrough for plain H.264. */
  readonly conditioner: StreamConditioner;
  /** The camera's audio, its sender reports (lip sync) and talk-back: shared-source-audio-talk.ts. */
  readonly audio: SourceAudioTalk['audio'];
  readonly clock: SourceAudioTalk['clock'];
  readonly talk: SourceAudioTalk['talk'];
  readonly #log: Logger;

  constructor(
    uri: string,
    opts: RtspClientOptions | undefined,
    gopMaxBytes: number,
    log: Logger,
    profile: CameraProfile | undefined,
    conditionerOpts: SharedRtspSourcesOptions['conditioner'],
    audioOpts: SharedRtspSourcesOptions['audio'],
  ) {
    this.profile = profile;
    // Every camera-level line names the camera: its gateway id when the gateway told us, else no id at all
    // (the redacted url is in the RTSP client's own fields).
    const camLog = profile ? withFields(log, { camera: profile.cameraId }) : log;
    this.conditioner = new StreamConditioner({
      ...conditionerOpts,
      logger: camLog,
      mode: () => this.profile?.transcode ?? 'auto',
      watched: () => this.subscribers.size > 0,
    });
    const rtspLog = opts?.logger
      ? profile
        ? withFields(opts.logger, { camera: profile.cameraId })
        : opts.logger
      : camLog.child('rtsp');
    this.client = new RtspClient(uri, {
      // Every camera is asked for its back channel (talkback-source.ts says why that costs nothing).
      backchannel: true,
      ...opts,
      logger: rtspLog,
      acceptH265: () => this.conditioner.acceptH265(),
    });
    this.gop = new GopCache(gopMaxBytes);
    this.#log = camLog;
    this.client.on('state', (state, detail) => this.#onState(state, detail.error));
    this.client.on('video', (info) => {
      this.conditioner.onVideo(info);
      // The camera's own parameter sets only describe what viewers get when it passes as it is.
      if (this.conditioner.path === 'pass') this.gop.setParameterSets(info.sps, info.pps);
    });
    this.client.on('accessUnit', (au) => this.conditioner.push(au));
    this.conditioner.on('accessUnit', (au) => this.#onAccessUnit(au));
    this.conditioner.on('reset', () => {
      this.gop.reset();
      for (const s of this.subscribers) s.needKeyframe = true;
    });
    this.conditioner.on('notice', (notice) => {
      for (const h of this.handles) h.emit('notice', notice);
    });
    ({
      audio: this.audio,
      clock: this.clock,
      talk: this.talk,
    } = attachSourceAudioTalk(this.client, {
      ffmpeg: audioOpts?.ffmpeg ?? conditionerOpts?.ffmpeg ?? (() => findFfmpeg()),
      audio: audioOpts,
      logger: camLog,
      notice: (notice) => {
        for (const h of this.handles) h.emit('notice', notice);
      },
    }));
  }

  /** Closes the camera pull and its transcoder. */
  close(): Promise<void> {
    this.conditioner.close();
    this.audio.close();
    this.talk.close();
    return this.client.close();
  }

  #onState(state: string, error: CamgateError | undefined): void {
    if (state === 'closed') return; // we closed it: the handles are gone
    if (state === 'failed' && error?.code === 'CAMGATE_RTSP_UNSUPPORTED') this.conditioner.unsupported(error.message);
    if (state === 'retrying' || state === 'connecting' || state === 'failed') {
      // The next session may restart the stream and its parameter sets: old frames
      // are no longer a valid reference for what follows.
      this.gop.reset();
      for (const s of this.subscribers) s.needKeyframe = true;
      this.clock.reset();
    }
    this.state = state as RtspSourceState;
    this.error = error;
    // `status` first: a player drops its handle on `failed`, and must have told its viewers why before.
    this.#updateStatus(state, error);
    const detail = error ? { error } : {};
    for (const h of [...this.handles]) h.emit('state', state, detail);
  }

  #updateStatus(event: string, error: CamgateError | undefined): void {
    const status = this.status.update(event, error);
    if (!status) return;
    this.#log.info('camera status', { ...status });
    for (const h of [...this.handles]) h.emit('status', status);
  }

  /** Fast reconnects while any handle is watched. */
  refreshWatched(): void {
    let watched = false;
    for (const h of this.handles) watched ||= h.watched;
    if (watched !== this.client.watched) this.client.setWatched(watched);
  }

  #onAccessUnit(au: H264AccessUnit): void {
    if (this.status.status.state !== 'live') this.#updateStatus('media', undefined);
    // The capture time on the camera's clock, for lip sync (lip-sync.ts); the same for every viewer.
    (au as H264AccessUnit & { ntpMs?: number }).ntpMs = this.clock.ntpOf('video', au.timestamp);
    const unit = this.gop.push(au);
    for (const s of this.subscribers) {
      if (s.needKeyframe) {
        if (!unit.keyframe) continue;
        s.needKeyframe = false;
      }
      this.deliver(s, unit);
    }
  }

  deliver(s: Subscriber, au: H264AccessUnit): void {
    try {
      s.sink(au);
    } catch (err) {
      // One broken viewer must not stop the camera's other viewers.
      this.#log.warn('a subscriber threw; it stays subscribed', { err, url: this.client.url });
    }
  }
}

class Handle extends EventEmitter<RtspSourceHandleEvents> implements RtspSourceHandle {
  readonly #source: Source;
  readonly #onRelease: (h: Handle) => void;
  readonly #mine = new Set<Subscriber>();
  readonly #audioTalk: HandleAudioTalk;
  #released = false;
  #watched = false;

  constructor(source: Source, onRelease: (h: Handle) => void) {
    super();
    this.#source = source;
    this.#onRelease = onRelease;
    this.#audioTalk = new HandleAudioTalk(source, () => this.#released);
  }

  get state(): string {
    return this.#source.state;
  }

  get videoInfo(): RtspVideoInfo | undefined {
    return this.#source.client.videoInfo;
  }

  get profile(): CameraProfile | undefined {
    return this.#source.profile;
  }

  get status(): CameraStatus {
    return this.#source.status.status;
  }

  get watched(): boolean {
    return this.#watched;
  }

  setWatched(watched: boolean): void {
    if (typeof watched !== 'boolean') throw new TypeError('setWatched: watched must be a boolean');
    if (this.#released || watched === this.#watched) return;
    this.#watched = watched;
    this.#source.refreshWatched();
  }

  get notice(): StreamNotice | undefined {
    return this.#source.conditioner.notice;
  }

  subscribe(sink: (au: H264AccessUnit) => void): () => void {
    if (typeof sink !== 'function') throw new TypeError('subscribe: sink must be a function');
    if (this.#released) throw new CamgateError('CAMGATE_ENGINE_STATE', 'subscribe on a released RTSP source handle');
    const src = this.#source;
    const cached = src.gop.snapshot();
    const sub: Subscriber = { sink, needKeyframe: cached.length === 0 };
    // Replay first, synchronously, so no live unit can slip in between.
    for (const au of cached) src.deliver(sub, { ...au, replay: true } as ReplayedAccessUnit);
    src.subscribers.add(sub);
    this.#mine.add(sub);
    let done = false;
    return () => {
      if (done) return;
      done = true;
      src.subscribers.delete(sub);
      this.#mine.delete(sub);
    };
  }

  get audioInfo(): RtspSourceAudioTalk['audioInfo'] {
    return this.#audioTalk.audioInfo;
  }

  subscribeAudio(...args: Parameters<RtspSourceAudioTalk['subscribeAudio']>): () => void {
    return this.#audioTalk.subscribeAudio(...args);
  }

  acquireOpus(sink: Parameters<RtspSourceAudioTalk['acquireOpus']>[0]): () => void {
    return this.#audioTalk.acquireOpus(sink);
  }

  openTalk(talkerId: string): ReturnType<RtspSourceAudioTalk['openTalk']> {
    return this.#audioTalk.openTalk(talkerId);
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#audioTalk.release(); // talk sessions closed, audio subscriptions ended
    for (const s of this.#mine) this.#source.subscribers.delete(s);
    this.#mine.clear();
    this.#watched = false;
    this.#onRelease(this);
  }
}

/**
 * One RTSP pull per camera uri, shared by all its viewers and reference-counted:
 * the first `acquire` starts the pull, the last `release` closes it.
 * Credentials in a uri stay inside RtspClient; logs, errors and events carry
 * only the redacted url.
 */
export class SharedRtspSources {
  readonly #sources = new Map<string, Source>();
  #profiles: ReadonlyMap<string, CameraProfile> = new Map();
  readonly #closing = new Set<Promise<void>>();
  readonly #opts: SharedRtspSourcesOptions;
  readonly #gopMaxBytes: number;
  readonly #log: Logger;
  #closed = false;
  #closePromise: Promise<void> | undefined;

  constructor(opts: SharedRtspSourcesOptions = {}) {
    if (opts === null || typeof opts !== 'object') throw new TypeError('SharedRtspSources: options must be an object');
    const gop = opts.gopMaxBytes ?? DEFAULT_SHARED_RTSP_SOURCES_OPTIONS.gopMaxBytes;
    if (typeof gop !== 'number' || !Number.isInteger(gop)) {
      throw new TypeError(`SharedRtspSources: gopMaxBytes must be an integer (bytes), got ${String(gop)}`);
    }
    if (gop < 64 * 1024 || gop > 256 * 1024 * 1024) {
      throw new RangeError(`SharedRtspSources: gopMaxBytes must be 65536..268435456 bytes, got ${gop}`);
    }
    this.#opts = opts;
    this.#gopMaxBytes = gop;
    this.#log = opts.logger ?? defaultLogger('engine:sources');
  }

  /** Camera pulls currently open. */
  get size(): number {
    return this.#sources.size;
  }

  /**
   * Replaces the gateway's camera profiles (keyed by player uri). Pulls already open take the new profile
   * (their transcode mode applies from their next stream start); their log lines keep the id they started with.
   */
  setProfiles(profiles: ReadonlyMap<string, CameraProfile>): void {
    this.#profiles = new Map(profiles);
    for (const [uri, src] of this.#sources) src.profile = this.#profiles.get(uri) ?? src.profile;
  }

  /**
   * The NAL units (SPS, PPS, IDR slices) of the keyframe at the head of the cached GOP of the pull of `uri`,
   * or undefined when no pull of `uri` is open or it holds no keyframe yet. Never starts a pull: a snapshot
   * taken from a warm camera costs the camera nothing (the Homebridge plugin's tile pictures).
   */
  latestKeyframe(uri: string): Buffer[] | undefined {
    const first = this.#sources.get(uri)?.gop.snapshot()[0];
    return first?.keyframe ? [...first.nalus] : undefined;
  }

  /** A new reference to the pull of `uri` (started on first use). Throws TypeError for a bad uri. */
  acquire(uri: string): RtspSourceHandle {
    if (this.#closed) throw new CamgateError('CAMGATE_ENGINE_CLOSED', 'SharedRtspSources is closed');
    if (typeof uri !== 'string' || uri.length > MAX_URI_CHARS || !/^rtsps?:\/\//i.test(uri)) {
      throw new TypeError(`acquire: uri must be an rtsp:// or rtsps:// URL of at most ${MAX_URI_CHARS} characters`);
    }
    let src = this.#sources.get(uri);
    if (!src) {
      // throws (redacted) for a bad URL
      src = new Source(
        uri,
        this.#opts.rtsp,
        this.#gopMaxBytes,
        this.#log,
        this.#profiles.get(uri),
        this.#opts.conditioner,
        this.#opts.audio,
      );
      this.#sources.set(uri, src);
      this.#log.debug('camera pull started', { camera: src.profile?.cameraId, url: src.client.url });
      src.client.start();
    }
    const source = src;
    const handle = new Handle(source, (h) => this.#release(uri, source, h));
    source.handles.add(handle);
    return handle;
  }

  #release(uri: string, src: Source, h: Handle): void {
    src.handles.delete(h);
    src.refreshWatched();
    if (src.handles.size > 0 || this.#sources.get(uri) !== src) return;
    this.#sources.delete(uri);
    this.#log.debug('camera pull closed (last viewer left)', { camera: src.profile?.cameraId, url: src.client.url });
    this.#track(src.close());
  }

  #track(p: Promise<void>): void {
    const tracked = p.catch((err: unknown) => this.#log.warn('closing a camera pull failed', { err }));
    this.#closing.add(tracked);
    void tracked.finally(() => this.#closing.delete(tracked));
  }

  /** Closes every pull (handles stop receiving). Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= (async () => {
      this.#closed = true;
      for (const src of this.#sources.values()) {
        src.subscribers.clear();
        src.audio.subscribers.clear();
        src.handles.clear();
        this.#track(src.close());
      }
      this.#sources.clear();
      await Promise.all([...this.#closing]);
    })();
    return this.#closePromise;
  }
}
