/**
 * The audio and talk-back half of a shared camera pull (shared-rtsp-sources.ts): the camera's audio and its
 * lip-sync clock (source-audio.ts), its talk-back (talkback-source.ts), and what one handle holds of them
 * (its audio subscriptions and talk sessions, ended with the handle).
 */
import type { RtspClient } from '../../rtsp/index.js';
import { CamgateError, type Logger } from '../../util/index.js';
import type { AudioFrame, CameraAudioInfo } from './audio-codecs.js';
import type { CameraClock } from './lip-sync.js';
import type { OpusTranscoderOptions } from './opus-transcoder.js';
import { attachSourceAudio, type AudioSubscribeOptions, type SourceAudio } from './source-audio.js';
import type { StreamNotice } from './stream-conditioner.js';
import { SourceTalk } from './talkback-source.js';
import type { TalkSession } from './talkback.js';

/** The audio transcoder (AAC → Opus): FFmpeg path (default: the conditioner's, else `ffmpeg` on PATH) and restarts. */
export type SharedSourceAudioOptions = { ffmpeg?: () => string | undefined } & Pick<
  OpusTranscoderOptions,
  'bitrate' | 'restart' | 'maxPendingBytes'
>;

/** The audio side of one user's reference to a shared camera pull (RtspSourceHandle). */
export interface RtspSourceAudioTalk {
  /** The camera's audio track (after SETUP), or undefined: no audio, or not known yet. */
  readonly audioInfo: CameraAudioInfo | undefined;
  /**
   * Calls `sink` with the camera's audio frames from now on (no replay). With `accept`, G.711 passes
   * untouched when listed and anything else comes as Opus from the camera's one FFmpeg child
   * (started for the first such subscriber, stopped after the last); see source-audio.ts.
   * Returns the (idempotent) unsubscribe.
   */
  subscribeAudio(sink: (frame: AudioFrame) => void, opts?: AudioSubscribeOptions): () => void;
  /** `subscribeAudio(sink, { accept: ['OPUS'] })`: Opus whatever the camera sends (HomeKit, RFC 7587 payloads). */
  acquireOpus(sink: (frame: AudioFrame) => void): () => void;
  /**
   * Talks through the camera's speaker (its ONVIF back channel, talkback.ts): one talker per camera, throws
   * CAMGATE_ENGINE_TALK_BUSY when someone else talks and CAMGATE_ENGINE_NO_BACKCHANNEL when it has none.
   * Sessions still open when this handle is released are closed.
   */
  openTalk(talkerId: string): TalkSession;
}

/** A camera pull's audio, lip-sync clock and talk-back. */
export interface SourceAudioTalk {
  readonly audio: SourceAudio;
  readonly clock: CameraClock;
  readonly talk: SourceTalk;
}

/** Attaches the audio and talk-back of the pull made by `client`; `notice` tells every handle. */
export function attachSourceAudioTalk(
  client: RtspClient,
  opts: {
    ffmpeg: () => string | undefined;
    audio: SharedSourceAudioOptions | undefined;
    logger: Logger;
    notice: (notice: StreamNotice) => void;
  },
): SourceAudioTalk {
  const { audio, clock } = attachSourceAudio(client, {
    ffmpeg: opts.ffmpeg,
    transcoder: opts.audio,
    logger: opts.logger.child('audio'),
    notice: opts.notice,
  });
  // Every camera is asked for its back channel (talkback-source.ts says why that costs nothing).
  const talk = new SourceTalk(client, { ffmpeg: opts.ffmpeg, logger: opts.logger.child('talk') });
  return { audio, clock, talk };
}

/** What one handle holds of its pull's audio and talk-back; `release` ends all of it. */
export class HandleAudioTalk implements RtspSourceAudioTalk {
  readonly #source: SourceAudioTalk;
  readonly #released: () => boolean;
  readonly #audioUnsubs = new Set<() => void>();
  readonly #talks = new Set<TalkSession>();

  constructor(source: SourceAudioTalk, released: () => boolean) {
    this.#source = source;
    this.#released = released;
  }

  get audioInfo(): CameraAudioInfo | undefined {
    return this.#source.audio.info;
  }

  subscribeAudio(sink: (frame: AudioFrame) => void, opts?: AudioSubscribeOptions): () => void {
    if (this.#released())
      throw new CamgateError('CAMGATE_ENGINE_STATE', 'subscribeAudio on a released RTSP source handle');
    const unsub = this.#source.audio.subscribe(sink, opts);
    this.#audioUnsubs.add(unsub);
    return () => {
      this.#audioUnsubs.delete(unsub);
      unsub();
    };
  }

  acquireOpus(sink: (frame: AudioFrame) => void): () => void {
    return this.subscribeAudio(sink, { accept: ['OPUS'] });
  }

  openTalk(talkerId: string): TalkSession {
    if (this.#released()) throw new CamgateError('CAMGATE_ENGINE_STATE', 'openTalk on a released RTSP source handle');
    const session = this.#source.talk.open(talkerId);
    this.#talks.add(session);
    session.once('close', () => this.#talks.delete(session));
    return session;
  }

  /** Closes this handle's talk sessions and ends its audio subscriptions. */
  release(): void {
    for (const t of [...this.#talks]) t.close('released');
    for (const u of this.#audioUnsubs) u();
    this.#audioUnsubs.clear();
  }
}
