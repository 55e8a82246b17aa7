/**
 * One user's reference to a shared camera pull (shared-rtsp-sources.ts), what the players and endpoints of
 * the media plane hold: its state, status, video, and its audio and talk-back (shared-source-audio-talk.ts).
 */
import type { EventEmitter } from 'node:events';
import type { H264AccessUnit, RtspVideoInfo } from '../../rtsp/index.js';
import type { CamgateError } from '../../util/index.js';
import type { CameraProfile } from '../camera-profiles.js';
import type { CameraStatus } from './camera-status.js';
import type { RtspSourceAudioTalk } from './shared-source-audio-talk.js';
import type { StreamNotice } from './stream-conditioner.js';

export type RtspSourceState = 'connecting' | 'playing' | 'retrying' | 'failed';

export interface RtspSourceHandleEvents {
  state: [state: string, detail: { error?: CamgateError }];
  /** What a person should be told about the camera changed (camera-status.ts). */
  status: [status: CameraStatus];
  /**
   * Viewers do not get the camera's stream as it is (transcoded, frames dropped) or cannot get it at all:
   * `CAMGATE_STREAM_TRANSCODING` | `CAMGATE_STREAM_BFRAMES_DROPPED` | `CAMGATE_STREAM_UNSUPPORTED`, in plain words.
   */
  notice: [notice: StreamNotice];
}

/** One user's reference to a shared camera pull. */
export interface RtspSourceHandle extends EventEmitter<RtspSourceHandleEvents>, RtspSourceAudioTalk {
  /** 'connecting' | 'playing' | 'retrying' | 'failed' (see the `state` event for the error). */
  readonly state: string;
  /** The camera's video description (profile, SDP parameter sets) once DESCRIBE succeeded. */
  readonly videoInfo: RtspVideoInfo | undefined;
  /** What the gateway said about this camera (its id, transcode mode); undefined when it said nothing. */
  readonly profile: CameraProfile | undefined;
  /** connecting / live / reconnecting / unreachable with a plain-words reason (the `status` event reports changes). */
  readonly status: CameraStatus;
  /**
   * This reference is (or no longer is) being watched: while any handle of a camera is watched,
   * its reconnects are fast (RtspClient.setWatched). Players call it as sinks connect and go.
   */
  setWatched(watched: boolean): void;
  /** The latest notice of the current stream (see the `notice` event); undefined when there is none. */
  readonly notice: StreamNotice | undefined;
  /**
   * Calls `sink` at once with the cached GOP (SPS/PPS + IDR + the frames after it,
   * marked `replay: true`), then with every live access unit. Without a cached GOP,
   * live units are held back until the next IDR. Returns the (idempotent) unsubscribe.
   */
  subscribe(sink: (au: H264AccessUnit) => void): () => void;
  /** Drops this reference; the last release closes the RTSP session. Idempotent. */
  release(): void;
}
