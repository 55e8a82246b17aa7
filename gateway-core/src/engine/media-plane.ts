import type { EventEmitter } from 'node:events';
import type { Logger } from '../util/index.js';
import type { CameraProfile } from './camera-profiles.js';

/**
 * The media plane as the control plane sees it: the shape of
 * `src/engine/media/` (SharedRtspSources + WebRtcPeer), written as structural
 * interfaces so the control plane builds and is tested on its own. Access
 * units are opaque here: they go from a source's `subscribe` sink straight to
 * a peer's `feed`, untouched.
 */
export type AccessUnit = unknown;

/** An audio frame (media/audio-codecs.ts `AudioFrame`), opaque here like access units. */
export type AudioFrameLike = unknown;

/** Where a sink takes audio: the sink and the codecs it can send (media/source-audio.ts). */
export interface AudioSinkLike {
  sink: (frame: AudioFrameLike) => void;
  accept: readonly ('PCMA' | 'PCMU' | 'OPUS')[];
}

export type RtspSourceState = 'connecting' | 'playing' | 'retrying' | 'failed' | (string & {});

/** A stream notice (engineer B's media path: transcoding, B-frames dropped, unsupported): plain words, no secrets. */
export interface StreamNotice {
  code: string;
  message: string;
}

/** What a person is told about a camera (media/camera-status.ts). */
export interface CameraStatusLike {
  state: 'connecting' | 'live' | 'reconnecting' | 'unreachable' | (string & {});
  reason?: string;
  code?: string;
  final?: boolean;
}

/**
 * Events: `state` (RTSP client state), `status` (CameraStatusLike) and, from media paths that have
 * them, `notice` (StreamNotice).
 */
export interface RtspSourceHandleLike extends EventEmitter {
  readonly state: RtspSourceState;
  /**
   * The latest stream notice (`CAMGATE_STREAM_TRANSCODING`, `CAMGATE_STREAM_BFRAMES_DROPPED`,
   * `CAMGATE_STREAM_UNSUPPORTED`), also emitted as `'notice'` with the same object; undefined when none.
   */
  readonly notice?: { code: string; message: string } | undefined;
  /** The camera's status for people (connecting / live / reconnecting / unreachable + reason). */
  readonly status?: CameraStatusLike;
  /** Fast reconnects while watched (RtspClient.setWatched). */
  setWatched?(watched: boolean): void;
  /** Starts `sink` with the cached GOP, then live access units; returns the unsubscribe function. */
  subscribe(sink: (au: AccessUnit) => void): () => void;
  /** The camera's audio, G.711 as it is or Opus per `accept` (media planes with audio only). */
  subscribeAudio?(sink: (frame: AudioFrameLike) => void, opts?: { accept?: AudioSinkLike['accept'] }): () => void;
  /**
   * Talking to the camera through its back channel (engine/media/talkback.ts): one talker at a time,
   * throws CAMGATE_ENGINE_TALK_BUSY when someone else talks. Absent when the camera has no back channel.
   */
  openTalk?(talkerId: string): TalkSessionLike;
  release(): void;
}

/** One talker's voice to a camera (Opus packets, RTP timestamps on the 48 kHz clock). */
export interface TalkSessionLike {
  pushOpus(packet: Buffer, rtpTimestamp: number): void;
  close(): void;
}

export interface RtspSourcesLike {
  /** One RTSP pull per uri, reference-counted. */
  acquire(uri: string): RtspSourceHandleLike;
  /** Replaces what the gateway said about its cameras, keyed by the uri a player of each camera uses. */
  setProfiles(profiles: ReadonlyMap<string, CameraProfile>): void;
  /**
   * The cached keyframe of a pull that is open (SPS, PPS, IDR slices), or undefined; never starts a pull.
   * Optional: a media plane without a GOP cache has none to give.
   */
  latestKeyframe?(uri: string): Buffer[] | undefined;
  close(): Promise<void>;
}

export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

export interface WebRtcPeerLikeOptions {
  iceServers: IceServer[];
  additionalHostAddresses?: string[];
  logger?: Logger;
}

export interface PeerIceCandidate {
  candidate: string;
  sdpMid: string;
  sdpMLineIndex: number;
}

export interface WebRtcPeerLike extends EventEmitter {
  processOffer(sdp: string): Promise<string>;
  generateOffer(): Promise<string>;
  processAnswer(sdp: string): Promise<void>;
  gatherCandidates(): Promise<void>;
  addIceCandidate(c: { candidate: string; sdpMid?: string; sdpMLineIndex?: number }): Promise<void>;
  feed(au: AccessUnit): void;
  /** The audio codecs the viewer accepted (after negotiation); absent or empty: no audio. */
  readonly audioCodecs?: AudioSinkLike['accept'];
  /** Sends one audio frame (peers with audio only). */
  feedAudio?(frame: AudioFrameLike): void;
  /** Forgets cached frames (the source's stream ended), so no stale picture is replayed. */
  dropCache?(): void;
  close(): Promise<void>;
}

export interface RtpSenderLikeOptions {
  /** SDES master key+salt (30 bytes) and suite; without it plain RTP/AVP. */
  crypto?: { suite: 'AES_128_CM_HMAC_SHA1_80' | 'AES_128_CM_HMAC_SHA1_32'; keyAndSalt: Buffer };
  ipv6?: boolean;
  logger?: Logger;
}

/** A plain RTP / SDES-SRTP sender (src/engine/media/rtp-sender.ts). */
export interface RtpSenderLike extends EventEmitter {
  readonly mtu: number;
  setMtu(mtu: number): void;
  generateOffer(): Promise<string>;
  processOffer(sdp: string): Promise<string>;
  processAnswer(sdp: string): Promise<void>;
  feed(au: AccessUnit): void;
  /** The negotiated audio stream, undefined when the remote took none. */
  readonly audio?: { direction: string } | undefined;
  /** Sends one Opus packet (48 kHz RTP timestamp) when audio was negotiated. */
  feedOpus?(packet: Buffer, timestamp48k: number): void;
  /** Whether the remote's voice is taken (talk-back); events `voice` ({ payload, timestamp48k, ssrc }). */
  setTalk?(enabled: boolean): void;
  close(): Promise<void>;
}

/** What the engine needs from a media plane: shared sources and a peer factory. */
export interface MediaPlane {
  /**
   * Loads what the plane's objects need (a plane whose code is loaded lazily, default-media.ts); the engine
   * awaits it before every `create`, so `sources.acquire`, `createPeer` and `createRtpSender` can be synchronous.
   */
  ready?(): Promise<void>;
  readonly sources: RtspSourcesLike;
  createPeer(opts: WebRtcPeerLikeOptions): WebRtcPeerLike;
  /** RtpEndpoint media; a plane without it makes RtpEndpoint answer NOT_IMPLEMENTED. */
  createRtpSender?(opts: RtpSenderLikeOptions): RtpSenderLike;
}
